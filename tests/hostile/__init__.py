"""The hostile-input corpus: ``generate.py`` writes it, ``tests/test_hostile_inputs.py`` sends it to every endpoint."""
