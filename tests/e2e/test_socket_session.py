"""The load test's websocket client (tests/e2e/socket_session.py) plays a lesson as a browser
would: every interaction served, the values it sent read back, the app's own changes seen."""

from __future__ import annotations

from streamlit.proto.Element_pb2 import Element

from lab import state as shared
from lab.next_token import state as nt
from lab.tokenizers import state as tok
from tests.e2e import lesson
from tests.e2e.socket_session import Drawn, SocketSession


def test_a_lesson_over_the_websocket(app_url: str) -> None:
    record = lesson.Record()
    kept: list[SocketSession] = []

    class Kept(SocketSession):
        def __init__(self, url: str, record: lesson.Record) -> None:
            super().__init__(url, record)
            kept.append(self)

    lesson.play(app_url, 7, record, think=0.0, session=Kept)

    # play() checks that ten Next presses moved the merge step by ten (a value the app sets
    # itself, read from the slider it redraws) and that every slider holds what was sent.
    assert record.errors() == []
    kinds = [t.kind for t in record.timings]
    assert kinds.count("BPE Next merge") == lesson.MERGES
    assert kinds.count("page switch") == 3
    assert all(t.seconds > 0 for t in record.timings)
    final = kept[0].snapshot
    assert lesson.value(final, shared.SEED) == 107  # the sidebar seed the student picked
    keys = {node.get("key") for node in lesson.nodes(final["tree"])}
    assert nt.TAKE in keys  # the last page drawn is Next token, with its button
    assert lesson.value(final, tok.TOK_STEP) is None  # Tokenizers' widgets are gone
    assert kept[0].socket is None  # play() closed the tab


def test_a_missing_widget_is_an_error_not_a_crash(app_url: str) -> None:
    record = lesson.Record()
    s = SocketSession(app_url, record)
    s.act("open Home", page="")
    s.act("press a button that is not there", trigger={"key": "no.such.button"})
    s.close()
    assert record.timings[0].error is None
    assert "no widget with key 'no.such.button'" in record.timings[1].error


def _text(body: str) -> Element:
    element = Element()
    element.markdown.body = body
    return element


def test_a_finished_run_clears_what_it_did_not_draw_again() -> None:
    drawn = Drawn()
    drawn.start()
    drawn.put((0, 0), _text("page"), "")
    drawn.put((0, 1), _text("fragment"), "f1")
    drawn.put((0, 2), _text("old"), "")
    drawn.finish("")
    assert set(drawn.at) == {(0, 0), (0, 1), (0, 2)}

    drawn.start()  # a fragment's run redraws only the fragment, and leaves the page alone
    drawn.finish("f1")
    assert set(drawn.at) == {(0, 0), (0, 2)}

    drawn.start()  # a full run that draws less drops the rest
    drawn.put((0, 0), _text("page"), "")
    drawn.finish("")
    assert set(drawn.at) == {(0, 0)}
