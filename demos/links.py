"""Links into the app: a URL such as ``/?tab=cnn&example=chelsea&method=RISE`` opens a tab with its inputs filled in,
and the Offering tab's buttons open tabs the same way. A teacher can send one link to one explanation.

Each tab's build returns its linkable inputs as ``Field``s (the component and how a query value becomes its value)
and the buttons that open a link (``demos.tab.Links``); an unknown tab or value gets a warning naming the allowed
ones, and the page opens anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gradio as gr

from demos.tab import Field, Links
from explainers import get_method
from hub_models.assets import DARKNET_PHOTOS
from hub_models.errors import UserInputError
from hub_models.examples import example_photo_paths


def example_photo(name: str) -> str:
    """A bundled photo by name (chelsea, coffee, ...), as a path the image input accepts."""
    photos = example_photo_paths()
    if name not in photos:
        raise UserInputError(f"No example photo {name!r}; the examples are: {', '.join(photos)}.")
    return str(photos[name])


def darknet_photo(name: str) -> str:
    """One of Darknet's detection photos by name (dog, person, ...), as installed by the setup command."""
    installed = {key: asset.path for key, asset in DARKNET_PHOTOS.items() if asset.path.is_file()}
    if name not in installed:
        raise UserInputError(
            f"No detection photo {name!r}; the photos are: {', '.join(installed) or 'none installed'}."
        )
    return str(installed[name])


def method_name(name: str) -> str:
    return get_method(name).name


def one_of(*allowed: str) -> Callable[[str], str]:
    def value_of(value: str) -> str:
        if value not in allowed:
            raise UserInputError(f"{value!r} is not one of {', '.join(allowed)}.")
        return value

    return value_of


Entries = Mapping[str, Mapping[str, Field]]
"""Tab id -> query parameter name -> field."""


def _opened(entries: Entries, query: Mapping[str, str]) -> list[Any]:
    """Updates for ``[tabs, every field in order]``; problems become one warning, the rest still applies."""
    tab = query.get("tab")
    updates: list[Any] = [gr.update()]
    problems = []
    if tab is not None and tab not in entries:
        problems.append(f"there is no tab {tab!r} (tabs: {', '.join(entries)})")
    elif tab is not None:
        updates[0] = gr.Tabs(selected=tab)
    for tab_id, fields in entries.items():
        for name, field in fields.items():
            update = gr.update()
            if tab_id == tab and name in query:
                try:
                    update = field.value_of(query[name])
                except UserInputError as error:
                    problems.append(f"{name}: {error}")
            updates.append(update)
    if problems:
        gr.Warning("This link could not be followed completely: " + "; ".join(problems))
    return updates


def bind(app: gr.Blocks, tabs: gr.Tabs, built: Mapping[str, Links]) -> None:
    """The page's query opens a tab on load; every tab's link buttons open their tab the same way. ``built``: each
    tab's ``Links`` by tab id, in the page's order."""
    entries: Entries = {tab_id: links.fields for tab_id, links in built.items()}
    outputs = [tabs, *(field.component for fields in entries.values() for field in fields.values())]

    def on_load(request: gr.Request) -> list[Any]:
        return _opened(entries, dict(request.query_params))

    app.load(on_load, None, outputs, api_visibility="private", show_progress="hidden")
    for links in built.values():
        for button, query in links.buttons:
            button.click(lambda query=query: _opened(entries, query), None, outputs, api_visibility="private")
