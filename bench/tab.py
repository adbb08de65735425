"""A browser tab without the browser: Streamlit's own websocket protocol, as the web page speaks it.

A `Tab` opens `/_stcore/stream`, asks for a page with `BackMsg.rerun_script` (query string,
page name, widget states), reads the `ForwardMsg`s until the run has finished, and downloads
the images the run produced, as the page would. It keeps the widget states it has set and
sends them with every rerun, as the page does; a change to a widget inside an `st.fragment`
reruns only that fragment, and a fragment's `run_every` timer is answered, both as in the page.

Like a browser it keeps the cookies it is given (a load balancer's affinity cookie set on the
websocket's handshake, Streamlit's XSRF cookie) and sends them with every request, so behind a
balancer with sticky sessions its pictures and uploads reach the server that holds its session.

The server cannot tell it from a browser, so the load it makes is a classroom's, without 30
Chromiums on the same 2 cores (Streamlit's agent API would do too, but it also converts every
chart to JSON for the agent: ~2x a browser's cost on the map page).
"""

from __future__ import annotations

import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

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
    images: list[str] = field(default_factory=list)  # the pictures' URLs, as the page would fetch them


class Tab:
    def __init__(self, base_url: str, timeout: float = 90.0, cookies: dict[str, str] | None = None):
        self.base_url = base_url
        self.timeout = timeout
        self.cookies = dict(cookies or {})  # name -> value, sent with every request as a browser would
        self.socket = connect(base_url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                              max_size=None, open_timeout=timeout, legacy=True,  # a plain connection, closed by close()
                              additional_headers=self._cookie_header())
        self._keep_cookies(self.socket.response.headers.get_all("Set-Cookie"))
        self.session_id = ""  # the server's id of this tab's session (new_session), for uploads
        self.query = ""
        self.page = ""
        self.widgets: dict[str, Widget] = {}  # by user key
        self.states: dict[str, WidgetState] = {}  # by widget id: what this tab has set
        self.timer: tuple[float, str] | None = None  # a fragment's run_every: (seconds, fragment id)

    def close(self) -> None:
        self.socket.close()

    def fetch(self, url: str, data: bytes | None = None, headers: dict | None = None,
              method: str | None = None) -> bytes:
        """An HTTP request of this tab (a picture, an upload), with its cookies; the body of the answer."""
        request = urllib.request.Request(self.base_url + url if url.startswith("/") else url, data=data,
                                         headers={**self._cookie_header(), **(headers or {})}, method=method)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
            return response.read()

    def upload(self, key: str, name: str, data: bytes, mime: str = "application/octet-stream") -> Run:
        """Put a file into the file uploader `key` as the page does: ask the session for an upload URL,
        PUT the file there (with the XSRF token), then rerun with the uploader's new value."""
        widget = self.widgets[key]
        message = BackMsg()
        message.file_urls_request.request_id = uuid.uuid4().hex
        message.file_urls_request.file_names.append(name)
        message.file_urls_request.session_id = self.session_id
        self.socket.send(message.SerializeToString())
        urls = self._file_urls(message.file_urls_request.request_id)
        if "_streamlit_xsrf" not in self.cookies:
            self.fetch("/_stcore/health")  # the page has it from loading; this answer sets it too
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                f"Content-Type: {mime}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        self.fetch(urls.upload_url, data=body, method="PUT",
                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                            "X-Xsrftoken": self.cookies.get("_streamlit_xsrf", "")})
        state = WidgetState(id=widget.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(urls)
        self.states[widget.id] = state
        return self._rerun([state], fragment=widget.fragment)

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

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _keep_cookies(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            self.cookies.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})

    def _file_urls(self, request_id: str):
        """Read messages until the answer to a file_urls_request (any others meanwhile are skipped)."""
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(self.socket.recv(timeout=self.timeout))
            answer = forward.file_urls_response
            if forward.WhichOneof("type") == "file_urls_response" and answer.response_id == request_id:
                if answer.error_msg:
                    raise RuntimeError(f"upload refused: {answer.error_msg}")
                return answer.file_urls[0]

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
            elif kind == "new_session":
                self.session_id = forward.new_session.initialize.session_id
            elif kind == "page_info_changed":
                self.query = forward.page_info_changed.query_string  # the app writes its state into the URL
            elif kind == "script_finished":
                status = forward.script_finished
                if status == COMPILE_ERROR:
                    run.problems.append("the script did not compile")
                if status != EARLY_FOR_RERUN:
                    break
        for url in images:
            self.fetch(url)
        run.images = images
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
