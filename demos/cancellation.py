"""Whether the client of the request being handled still waits for its answer, asked of Gradio's queue.

Gradio runs a handler in a worker thread. When a client cancels its job (``Job.cancel()``, the page's stop button)
Gradio cancels the job's asyncio task and takes the job off its active jobs, but the thread computes on to the end
with nobody waiting for it; when a page closes, the job is only marked not ``alive``. Either way the handler can see
it, and the explainer layer asks before every model batch and training step (``explainers.limits``).
"""

from __future__ import annotations

from gradio.context import LocalContext


def client_gone() -> bool:
    """True when the event this thread handles is no longer one of the queue's live jobs; False outside an event."""
    blocks = LocalContext.blocks.get(None)
    event_id = LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    if queue is None or event_id is None:
        return False
    for job in list(queue.active_jobs):
        for event in job or ():
            if event._id == event_id:
                return not event.alive
    return True
