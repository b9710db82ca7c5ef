"""One session driven over the websocket a browser uses, speaking Streamlit's own protobufs.

Why this and not the agent API (tests/e2e/lesson.py's AgentSession): an agent session makes
the server describe every element it draws as JSON, build a snapshot of the page and encode it
for the client. A browser's session does none of that. In the lesson for thirty that work was
30% of the server's busy time (py-spy, benchmarks/RESULTS.md "Lesson clients that speak the
browser's protocol"), so the class the load test measured was heavier than a real one.

This client sends what the browser's frontend sends for the lesson's interactions, a
`BackMsg` whose `rerun_script` carries the page, the changed widget's value in its wire type
(the widget's own register_widget call names it) or a button's trigger, and, for a widget
drawn in a fragment, that fragment's id. It reads the `ForwardMsg`s back until the run
finishes: an interaction's latency is the round trip to `script_finished`, as a browser
receives it, before any rendering. What it does not do is what the class's laptops do: lay
out and draw the page.

The server keeps the value of every widget the message does not name (SessionState keeps its
old state), so, like a browser whose other widgets did not change, only the changed widget is
sent. The page the run drew is kept as a small tree in the agent snapshot's shape
(`{"status", "tree"}` with typed nodes carrying key, value and props), so lesson.play reads
both clients the same way.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.runtime.state.common import user_key_from_element_id
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from tests.e2e.lesson import TIMEOUT, Record, Timing, problem

WIRE_TYPES = {  # element type -> WidgetState field, as each widget registers itself
    "slider": "double_array_value",
    "number_input": "double_value",
    "radio": "string_value",
    "selectbox": "string_value",
    "text_area": "string_value",
    "text_input": "string_value",
    "checkbox": "bool_value",
    "toggle": "bool_value",
}
DONE = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}  # FINISHED_EARLY_FOR_RERUN is not done: another run follows it


class Drawn:
    """The page as the runs so far left it: each element at its delta path, and where from."""

    def __init__(self) -> None:
        self.at: dict[tuple[int, ...], tuple[Any, str]] = {}  # path -> (element, fragment id)
        self.fresh: set[tuple[int, ...]] = set()  # paths written by the run under way

    def start(self) -> None:
        self.fresh = set()

    def put(self, path: tuple[int, ...], element: Any, fragment_id: str) -> None:
        self.at[path] = (element, fragment_id)
        self.fresh.add(path)

    def finish(self, fragment_id: str) -> None:
        """Drop what the finished run did not draw again, as the frontend clears stale
        elements: the whole page after a full run, the fragment's own after a fragment's."""
        for path in [p for p in self.at if p not in self.fresh]:
            if not fragment_id or self.at[path][1] == fragment_id:
                del self.at[path]

    def widget(self, key: str) -> tuple[Any, str, str] | None:
        """(element, its type, its fragment id) of the widget with this user key."""
        for element, fragment_id in self.at.values():
            kind = element.WhichOneof("type")
            inner = getattr(element, kind)
            wid = getattr(inner, "id", "")
            if wid and user_key_from_element_id(wid) == key:
                return inner, kind, fragment_id
        return None


class SocketSession:
    """One browser-like session over `/_stcore/stream`; every act() is timed into `record`.

    The same act(kind, page=..., widget_state=..., trigger=...) as lesson.AgentSession, one
    widget or trigger per interaction (the lesson never sends more), returning the page as a
    snapshot dict.
    """

    def __init__(self, url: str, record: Record) -> None:
        self.url = url
        self.record = record
        self.tab = contextlib.ExitStack()  # holds the open connection, as a tab does
        self.socket: ClientConnection | None = None
        self.page_hashes: dict[str, str] = {}  # url pathname ("" for Home) -> page script hash
        self.page_hash = ""
        self.drawn = Drawn()
        self.sent: dict[str, Any] = {}  # widget id -> the value this client last sent
        self.snapshot: dict = {}

    def act(self, kind: str, **body: Any) -> dict:
        start = time.monotonic()
        try:
            if self.socket is None:
                self.socket = self.tab.enter_context(
                    connect(
                        self.url.replace("http", "ws", 1) + "/_stcore/stream",
                        subprotocols=["streamlit"],
                        max_size=None,
                        max_queue=None,  # never stall the server's sender: it drops slow clients
                        open_timeout=TIMEOUT,
                        legacy=False,  # a context manager: the tab below closes it
                    )
                )
            error = self._run(self._client_state(body))
        except (OSError, WebSocketException, TimeoutError, LookupError) as e:
            error = f"{type(e).__name__}: {e}"
        end = time.monotonic()
        self.record.add(Timing(kind, end - start, error, end))
        return self.snapshot

    def close(self) -> None:
        """Close the tab: the server keeps the session for its reconnect TTL, then drops it."""
        self.tab.close()
        self.socket = None

    def _client_state(self, body: dict) -> ClientState:
        state = ClientState(page_script_hash=self.page_hash)
        if "page" in body:
            state.page_script_hash = self.page_hashes.get(body["page"], "")
            state.page_name = body["page"]
        writes = list(body.get("widget_state", {}).items())
        if trigger := body.get("trigger"):
            writes.append((trigger["key"], None))  # None: fire the button
        widgets = []
        for key, value in writes:
            found = self.drawn.widget(key)
            if found is None:
                raise LookupError(f"no widget with key {key!r} on the page")
            inner, element_type, fragment_id = found
            widgets.append(self._wire(inner, element_type, value))
            state.fragment_id = fragment_id
        state.widget_states.CopyFrom(WidgetStates(widgets=widgets))
        return state

    def _wire(self, inner: Any, element_type: str, value: Any) -> WidgetState:
        """The WidgetState a browser sends for this widget holding `value` (None: pressed)."""
        if value is None:
            return WidgetState(id=inner.id, trigger_value=True)
        field = WIRE_TYPES[element_type]
        self.sent[inner.id] = value
        if field == "double_array_value":
            state = WidgetState(id=inner.id)
            state.double_array_value.data.extend([float(value)])
            return state
        return WidgetState(id=inner.id, **{field: value})

    def _run(self, state: ClientState) -> str | None:
        """Send one rerun and read until it has finished; the page's problem, or None."""
        assert self.socket is not None
        self.socket.send(BackMsg(rerun_script=state).SerializeToString())
        self.drawn.start()
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(self.socket.recv(timeout=max(0.0, deadline - time.monotonic())))
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                path = tuple(msg.metadata.delta_path)
                self.drawn.put(path, msg.delta.new_element, msg.delta.fragment_id)
            elif kind == "navigation":
                self.page_hashes = {
                    p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages
                }
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "page_not_found":
                return f"page not found: {msg.page_not_found.page_name}"
            elif kind == "script_finished" and msg.script_finished in DONE:
                self.drawn.finish(state.fragment_id)
                self.snapshot = self._snapshot()
                if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    return "the page's script did not compile"
                return problem(self.snapshot)
            elif kind == "script_finished":  # ended early for a rerun: the next run redraws
                self.drawn.start()

    def _snapshot(self) -> dict:
        """The page in the agent snapshot's shape, for lesson.value, options and problem."""
        children = []
        for path in sorted(self.drawn.at):
            element = self.drawn.at[path][0]
            kind = element.WhichOneof("type")
            inner = getattr(element, kind)
            if kind == "exception":
                children.append({"type": "exception", "props": {"message": inner.message}})
            elif kind == "alert" and inner.format == Alert.ERROR:
                children.append({"type": "error", "props": {"body": inner.body}})
            elif (wid := getattr(inner, "id", "")) and (key := user_key_from_element_id(wid)):
                children.append(
                    {
                        "type": kind,
                        "key": key,
                        "value": self._value(inner, kind),
                        "props": {"options": list(getattr(inner, "options", ()))},
                    }
                )
        return {"status": "ready", "tree": {"type": "root", "children": children}}

    def _value(self, inner: Any, kind: str) -> Any:
        """What the widget shows: the app's value if it set one, else what this client sent,
        else its default. Read from the proto for a slider; for other kinds (which the lesson
        reads back only after sending them) what was sent, else None."""
        if kind == "slider":
            if inner.set_value:
                number = inner.value[0]
            elif inner.id in self.sent:
                return self.sent[inner.id]
            else:
                number = inner.default[0]
            return int(number) if inner.data_type == Slider.INT else number
        if inner.id in self.sent:
            return self.sent[inner.id]
        return None
