"""`cai review serve`: the browser review app over the same review file and labels files as the terminal UI.

state.py decides who sees which item (overlap, claims; no web code); desk.py writes labels through
the terminal UI's `LabelStore`; security.py guards every request; app.py has the routes; templates/
and static/ are the page (no inline script or style, nothing loaded from the network). Starlette and
uvicorn are imported only by `cai review serve`.
"""
