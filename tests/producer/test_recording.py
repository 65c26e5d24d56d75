"""The recording combination: detection, WAV writing with a generated signal, the upload."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path
from typing import Any

import pytest

from producer.config import upload_bucket
from producer.recording import (
    RECORDING_KEY,
    SAMPLE_RATE,
    ComboDetector,
    Recorder,
    tone,
    wav_bytes,
    write_wav,
)
from serverless_model.service import Service


def test_the_combination_fires_once_across_controllers():
    combo = ComboDetector()
    presses = ["A", "START", "START", "SELECT", "SELECT", "SELECT", "START", "START", "SELECT"]
    fired = [combo.feed(p) for p in presses]
    assert fired == [False, False, False, False, True, False, False, False, False]
    assert combo.feed("SELECT")  # START, START, SELECT, SELECT again


def test_a_generated_signal_makes_a_44k_mono_16_bit_wav(tmp_path: Path):
    samples = tone(0.5, 440.0)
    path = tmp_path / "tone.wav"
    write_wav(path, samples)
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, SAMPLE_RATE)
        assert wav.getnframes() == SAMPLE_RATE // 2
        assert wav.readframes(wav.getnframes()) == samples
    assert wav_bytes(samples) == path.read_bytes()


def test_odd_sample_bytes_are_refused():
    with pytest.raises(ValueError, match="16-bit"):
        write_wav(io.BytesIO(), b"\x00\x01\x02")


def test_the_recording_reaches_the_upload_bucket(aws_client: Any, tumble_service: Service):
    """UPLOAD_BUCKET as serverless.yml gives it to the functions (and `tumble local` to its
    children) names the bucket the stack created."""
    s3 = aws_client("s3")
    environment = tumble_service.functions["send_iot_message"].environment
    bucket = upload_bucket(None, environment)
    assert bucket.startswith("tumble-test-uploads-")
    captured: list[float] = []

    def microphone(seconds: float) -> bytes:
        captured.append(seconds)
        return tone(seconds, 330.0)

    recorder = Recorder(s3, bucket, capture=microphone, seconds=0.2)
    assert asyncio.run(recorder.record_and_upload())
    body = s3.get_object(Bucket=bucket, Key=RECORDING_KEY)["Body"].read()
    assert body == wav_bytes(tone(0.2, 330.0)) and captured == [0.2]


def test_without_an_input_device_it_says_so_once_and_carries_on(
    aws_client: Any, capsys: pytest.CaptureFixture[str]
):
    recorder = Recorder(aws_client("s3"), "no-bucket", capture=lambda _: None, seconds=0.1)

    async def twice() -> list[bool]:
        return [await recorder.record_and_upload(), await recorder.record_and_upload()]

    assert asyncio.run(twice()) == [False, False]
    assert capsys.readouterr().err.count("no audio input device") == 1


def test_a_failed_upload_does_not_stop_the_game(
    aws_client: Any, capsys: pytest.CaptureFixture[str]
):
    recorder = Recorder(aws_client("s3"), "missing-bucket", capture=lambda s: tone(s), seconds=0.01)

    async def scenario() -> list[bool]:
        recorder.trigger()
        recorder.trigger()  # ignored: one recording at a time
        return await asyncio.gather(*recorder.tasks)

    assert asyncio.run(scenario()) == [False]
    assert "not uploaded" in capsys.readouterr().err


def test_the_combination_on_real_controllers_uploads_a_generated_wav(aws_client: Any):
    import pygame

    from producer.controllers import run_controllers
    from producer.recording import combination_hook

    s3 = aws_client("s3")
    s3.create_bucket(Bucket="uploads")
    recorder = Recorder(s3, "uploads", capture=lambda s: tone(s, 523.0), seconds=0.1)

    def uploaded() -> bool:
        return s3.list_objects_v2(Bucket="uploads").get("KeyCount", 0) > 0

    def pad(kind: int, instance: int, **fields: Any) -> pygame.event.Event:
        return pygame.event.Event(kind, instance_id=instance, joy=instance, **fields)

    async def scenario() -> None:
        stop = asyncio.Event()

        async def submit(_: Any) -> None:
            return None

        loop_task = asyncio.create_task(run_controllers(submit, stop, combination_hook(recorder)))
        await asyncio.sleep(0.05)
        for instance in (1, 2):
            pygame.event.post(pad(pygame.JOYDEVICEADDED, instance, device_index=instance))
        # START, START, SELECT, SELECT across two controllers (7 = START, 6 = SELECT).
        for instance, number in [(1, 7), (2, 7), (2, 6), (1, 6)]:
            pygame.event.post(pad(pygame.JOYBUTTONDOWN, instance, button=number))
        deadline = asyncio.get_running_loop().time() + 10
        while not uploaded() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        stop.set()
        await loop_task

    asyncio.run(scenario())
    body = s3.get_object(Bucket="uploads", Key=RECORDING_KEY)["Body"].read()
    assert body == wav_bytes(tone(0.1, 523.0))
