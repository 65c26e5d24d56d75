"""START, START, SELECT, SELECT (across all controllers) records 5 s of audio for the upload
bucket, where a transcriber turns it into the selected player's name.

Capture is an optional extra: SDL's capture devices through pygame, where one exists. Without
one the producer says so once and carries on; the WAV writing and the upload are the same
either way and are tested with a generated signal."""

from __future__ import annotations

import array
import asyncio
import io
import math
import os
import sys
import threading
import time
import wave
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "COMBINATION",
    "RECORDING_KEY",
    "RECORD_SECONDS",
    "SAMPLE_RATE",
    "ComboDetector",
    "Recorder",
    "capture_microphone",
    "combination_hook",
    "tone",
    "wav_bytes",
    "write_wav",
]

COMBINATION: tuple[str, ...] = ("START", "START", "SELECT", "SELECT")
RECORD_SECONDS = 5.0
SAMPLE_RATE = 44_100
SAMPLE_WIDTH = 2  # 16-bit signed
RECORDING_KEY = "audio-uploads/last_recording.wav"


class ComboDetector:
    """The last presses of every controller together; fires once per completed combination."""

    def __init__(self, combination: tuple[str, ...] = COMBINATION) -> None:
        self.combination = combination
        self.recent: deque[str] = deque(maxlen=len(combination))

    def feed(self, button: str) -> bool:
        self.recent.append(button)
        if tuple(self.recent) == self.combination:
            self.recent.clear()
            return True
        return False


def tone(seconds: float, frequency: float = 440.0, rate: int = SAMPLE_RATE) -> bytes:
    """A sine at half scale as 16-bit little-endian mono samples: a stand-in microphone."""
    count = round(seconds * rate)
    samples = array.array(
        "h", (round(16383 * math.sin(2 * math.pi * frequency * i / rate)) for i in range(count))
    )
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def write_wav(target: BinaryIO | Path, samples: bytes, rate: int = SAMPLE_RATE) -> None:
    if len(samples) % SAMPLE_WIDTH:
        raise ValueError("16-bit samples come in whole pairs of bytes")
    with wave.open(target if not isinstance(target, Path) else str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(rate)
        out.writeframes(samples)


def wav_bytes(samples: bytes, rate: int = SAMPLE_RATE) -> bytes:
    buffer = io.BytesIO()
    write_wav(buffer, samples, rate)
    return buffer.getvalue()


def capture_microphone(seconds: float, rate: int = SAMPLE_RATE) -> bytes | None:
    """`seconds` of mono 16-bit audio from SDL's first capture device, or None without one."""
    if os.environ.get("SDL_AUDIODRIVER") == "dummy":
        return None  # SDL's dummy driver offers a capture device that only hears silence
    try:
        import pygame
        import pygame._sdl2.audio as sdl_audio

        if not pygame.mixer.get_init():
            pygame.mixer.init(rate, -16, 1)  # the audio subsystem lists devices once it is up
        names = sdl_audio.get_audio_device_names(True)
    except Exception:  # no sound card, no SDL audio driver, or no _sdl2 in this pygame
        return None
    if not names:
        return None
    chunks: list[bytes] = []
    lock = threading.Lock()

    def collect(_: Any, data: memoryview) -> None:
        with lock:
            chunks.append(bytes(data))

    try:
        device = sdl_audio.AudioDevice(
            devicename=names[0],
            iscapture=True,
            frequency=rate,
            audioformat=sdl_audio.AUDIO_S16,
            numchannels=1,
            chunksize=1024,
            allowed_changes=0,
            callback=collect,
        )
        device.pause(0)
        time.sleep(seconds)
        device.pause(1)
        device.close()
    except Exception:  # SDL reports a missing or busy device in many ways
        return None
    with lock:
        data = b"".join(chunks)
    return data[: round(seconds * rate) * SAMPLE_WIDTH]


class Recorder:
    """Records and uploads in the background; one recording at a time."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        capture: Callable[[float], bytes | None] = capture_microphone,
        seconds: float = RECORD_SECONDS,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.capture = capture
        self.seconds = seconds
        self._busy = False
        self._said_no_device = False
        self.tasks: set[asyncio.Task[bool]] = set()

    def trigger(self) -> None:
        if self._busy:
            return
        self._busy = True  # now, not when the task starts: a second press meanwhile is ignored
        task = asyncio.get_running_loop().create_task(self.record_and_upload())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def record_and_upload(self) -> bool:
        """True when a WAV reached the bucket."""
        self._busy = True
        try:
            print(f"producer: recording {self.seconds:g} s", file=sys.stderr, flush=True)
            samples = await asyncio.to_thread(self.capture, self.seconds)
            if samples is None:
                if not self._said_no_device:
                    self._said_no_device = True
                    print("producer: no audio input device; not recording", file=sys.stderr)
                return False
            body = wav_bytes(samples)
            await asyncio.to_thread(
                self.s3.put_object,
                Bucket=self.bucket,
                Key=RECORDING_KEY,
                Body=body,
                ContentType="audio/wav",
            )
            print(f"producer: uploaded s3://{self.bucket}/{RECORDING_KEY}", file=sys.stderr)
            return True
        except Exception as error:  # an upload failure must not stop the game
            print(f"producer: recording not uploaded: {error}", file=sys.stderr, flush=True)
            return False
        finally:
            self._busy = False


def combination_hook(
    recorder: Recorder | None, combo: ComboDetector | None = None
) -> Callable[[str], None]:
    """What the controller loop calls with each button: starts a recording on the combination."""
    detector = combo or ComboDetector()

    def on_press(button: str) -> None:
        if detector.feed(button) and recorder is not None:
            recorder.trigger()

    return on_press
