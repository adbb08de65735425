"""A browser tab without the browser: Streamlit's own websocket protocol, as the web page speaks it.

A `Tab` opens `/_stcore/stream`, asks for a page with `BackMsg.rerun_script` (query string,
page name, widget states), reads the `ForwardMsg`s until the run has finished, and downloads
the images the run produced, as the page would. It keeps the widget states it has set and
sends them with every rerun, as the page does; a change to a widget inside an `st.fragment`
reruns only that fragment, and a fragment's `run_every` timer is answered, both as in the page.

The server cannot tell it from a browser, so the load it makes is a classroom's, without 30
Chromiums on the same 2 cores (Streamlit's agent API would do too, but it also converts every
chart to JSON for the agent: ~2x a browser's cost on the map page).
"""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field

from websockets.sync.client import connect

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ERROR_FORMAT = 1  # Alert.Format.ERROR
# The server drops, without a word, a timer's rerun of a fragment that a full run has since
# replaced; the page would never notice. A tab hearing nothing this long takes the timer as gone.
TICK_SILENCE = 10.0
EARLY_FOR_RERUN = ForwardMsg.FINISHED_EARLY_FOR_RERUN
COMPILE_ERROR = ForwardMsg.FINISHED_WITH_COMPILE_ERROR


@dataclass
class Widget:
    id: str
    kind: str  # the element's proto field: "slider", "selectbox", "radio", "number_input", ...
    proto: object  # the element proto: options, min/max/step, ...
    fragment: str = ""  # the st.fragment it lives in: changing it reruns only that fragment

    @property
    def options(self) -> list[str]:
        return list(getattr(self.proto, "options", []))


@dataclass
class Run:
    """What one rerun showed: seconds until finished and its images loaded, and what went wrong."""

    seconds: float
    problems: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # progress bars' texts


class Tab:
    def __init__(self, base_url: str, timeout: float = 90.0):
        self.base_url = base_url
        self.timeout = timeout
        self.socket = connect(base_url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                              max_size=None, open_timeout=timeout, legacy=True)  # a plain connection, closed by close()
        self.query = ""
        self.page = ""
        self.widgets: dict[str, Widget] = {}  # by user key
        self.states: dict[str, WidgetState] = {}  # by widget id: what this tab has set
        self.timer: tuple[float, str] | None = None  # a fragment's run_every: (seconds, fragment id)

    def close(self) -> None:
        self.socket.close()

    def open(self, page: str = "", query: str = "") -> Run:
        """Navigate to a page ("" is the default page) with a query string, as a typed URL does."""
        self.page, self.query = page, query
        self.states, self.timer = {}, None
        return self._rerun([])

    def refresh(self) -> Run:
        """Rerun the whole page as it stands (same page, link and widget values)."""
        return self._rerun([])

    def set(self, **values) -> Run | None:
        """Change widgets by their keys: a value (slider, number, option, toggle) or True for a button.
        None when none of the keys is on the page."""
        changed, fragments = [], set()
        for key, value in values.items():
            widget = self.widgets.get(key)
            if widget is not None and value is not None:
                changed.append(self._state(widget, value))
                fragments.add(widget.fragment)
        if not changed:
            return None
        # As the page does: a widget inside a fragment reruns just that fragment.
        return self._rerun(changed, fragment=fragments.pop() if len(fragments) == 1 else "")

    def tick(self) -> Run | None:
        """What a fragment's run_every timer sends: a rerun of just that fragment. None without a
        timer, or when the server ignored it (the fragment is gone: the timer is dropped)."""
        if self.timer is None:
            return None
        try:
            return self._rerun([], fragment=self.timer[1], timer=True)
        except TimeoutError:
            self.timer = None
            return None

    # ------------------------------------------------------------------ the protocol

    def _state(self, widget: Widget, value) -> WidgetState:
        state = WidgetState(id=widget.id)
        if widget.kind == "button":
            state.trigger_value = True
            return state  # a trigger is not remembered
        if widget.kind == "slider":
            state.double_array_value.data.extend([float(value)])
        elif widget.kind == "number_input":
            state.double_value = float(value)
        elif widget.kind in ("selectbox", "radio"):
            state.string_value = str(value)
        elif widget.kind in ("multiselect", "select_slider"):
            state.string_array_value.data.extend([str(v) for v in value])
        elif widget.kind == "checkbox":
            state.bool_value = bool(value)
        else:
            raise ValueError(f"{widget.kind} widgets are not supported")
        self.states[widget.id] = state
        return state

    def _rerun(self, changed: list[WidgetState], fragment: str = "", timer: bool = False) -> Run:
        message = BackMsg()
        rerun = message.rerun_script
        rerun.query_string = self.query
        rerun.page_name = self.page
        if fragment:
            rerun.fragment_id, rerun.is_auto_rerun = fragment, timer
        triggers = [s for s in changed if s.HasField("trigger_value")]
        rerun.widget_states.widgets.extend([*self.states.values(), *triggers])
        started = time.perf_counter()
        self.socket.send(message.SerializeToString())
        run = Run(0.0)
        images: list[str] = []
        if not fragment:
            self.widgets = {}
        first = True
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(self.socket.recv(timeout=TICK_SILENCE if timer and first else self.timeout))
            first = False
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                self._read_element(forward.delta.new_element, forward.delta.fragment_id, run, images)
            elif kind == "auto_rerun":
                self.timer = (forward.auto_rerun.interval, forward.auto_rerun.fragment_id)
            elif kind == "stop_auto_rerun":
                self.timer = None
            elif kind == "page_info_changed":
                self.query = forward.page_info_changed.query_string  # the app writes its state into the URL
            elif kind == "script_finished":
                status = forward.script_finished
                if status == COMPILE_ERROR:
                    run.problems.append("the script did not compile")
                if status != EARLY_FOR_RERUN:
                    break
        for url in images:
            with urllib.request.urlopen(self.base_url + url if url.startswith("/") else url, timeout=self.timeout) as r:
                r.read()
        run.seconds = time.perf_counter() - started
        return run

    def _read_element(self, element, fragment: str, run: Run, images: list[str]) -> None:
        kind = element.WhichOneof("type")
        inner = getattr(element, kind)
        if kind == "exception":
            run.problems.append(f"exception {inner.type}: {inner.message[:200]}")
        elif kind == "alert" and inner.format == ERROR_FORMAT:
            run.problems.append(f"st.error {inner.body[:200]}")
        elif kind == "imgs":
            images.extend(image.url for image in inner.imgs if image.url)
        elif kind == "progress":
            run.texts.append(inner.text)
        widget_id = getattr(inner, "id", "")
        if isinstance(widget_id, str) and widget_id.startswith("$$ID-"):
            key = widget_id.split("-", 2)[2]
            if key and key != "None":
                self.widgets[key] = Widget(widget_id, kind, inner, fragment)
