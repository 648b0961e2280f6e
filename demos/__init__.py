"""One module per tab: Gradio components and wiring only; drawing lives in ``outputs.render``."""
