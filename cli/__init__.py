"""The command line: the app's explanations and training runs from a script (``python -m explainers``).

It sits beside the tabs, above the output layer: it enters the explainer layer where a tab does and writes its files
through the same functions (``outputs``).
"""
