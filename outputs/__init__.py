"""The output layer: every picture, animation and file a result is shown or downloaded as, in one place.

Overlays and figures (``render``, the ``*_render`` modules), GIF/MP4 animations (``animation``), the files of a result
(``files``, ``results``), its manifest (``manifest``) and its "download all" bundle with the command line that
reproduces it (``export``). It takes the explainer layer's arrays and records; it knows nothing of Gradio.
"""
