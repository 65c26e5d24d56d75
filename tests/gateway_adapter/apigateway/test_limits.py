from __future__ import annotations

import os
import struct

import pytest

from gateway_adapter.apigateway.limits import (
    FRAME_MAX_BYTES,
    ConnectRateWindow,
    FrameSizeGuard,
    FrameTooLarge,
)


def frame(payload: bytes, opcode: int = 0x1, fin: bool = True, mask: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        header = bytes([first, (0x80 if mask else 0) | size])
    elif size < 1 << 16:
        header = bytes([first, (0x80 if mask else 0) | 126]) + struct.pack("!H", size)
    else:
        header = bytes([first, (0x80 if mask else 0) | 127]) + struct.pack("!Q", size)
    return header + (os.urandom(4) if mask else b"") + payload


def test_frames_at_the_limit_pass_in_any_chunking() -> None:
    stream = frame(b"a" * 10) + frame(b"b" * FRAME_MAX_BYTES, opcode=0x2) + frame(b"", 0x9)
    for chunk in (1, 3, 7, 1000, len(stream)):
        guard = FrameSizeGuard()
        for start in range(0, len(stream), chunk):
            guard.feed(stream[start : start + chunk])


def test_a_data_frame_over_the_limit_is_refused_at_its_header() -> None:
    guard = FrameSizeGuard()
    big = frame(b"x" * (FRAME_MAX_BYTES + 1))
    with pytest.raises(FrameTooLarge) as caught:
        guard.feed(big[:14])  # header only: refused before any payload is buffered
    assert caught.value.size == FRAME_MAX_BYTES + 1


def test_fragmented_message_of_small_frames_passes() -> None:
    guard = FrameSizeGuard()
    parts = [
        frame(b"a" * FRAME_MAX_BYTES, fin=False),
        frame(b"b" * FRAME_MAX_BYTES, opcode=0x0, fin=False),
        frame(b"c" * 100, opcode=0x0),
    ]
    guard.feed(b"".join(parts))


def test_continuation_frame_over_the_limit_is_refused() -> None:
    guard = FrameSizeGuard()
    guard.feed(frame(b"a" * 10, fin=False))
    with pytest.raises(FrameTooLarge):
        guard.feed(frame(b"b" * (FRAME_MAX_BYTES * 2), opcode=0x0))


def test_connect_rate_window() -> None:
    window = ConnectRateWindow(3)
    assert [window.allow(100.1) for _ in range(4)] == [True, True, True, False]
    assert window.allow(100.9) is False
    assert window.allow(101.0) is True
