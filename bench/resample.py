"""What resampling one chunk costs, and how clean it is: soxr vs PyAV vs the old code vs a floor.

Three conversions the package makes, on a 100 ms chunk (`--chunk-ms`) of int16 mono:

* 24 kHz → 8 kHz (PCM16 to G.711 before encoding),
* 8 kHz → 24 kHz (G.711 back to PCM16),
* 24 kHz → 48 kHz (PCM16 to the 48 kHz that WebRTC's Opus runs at).

Resamplers, each fed the same chunk:

* **floor**: numpy slicing (`x[::3]`) or repetition (`np.repeat`): the least any resampler can
  do, with no filter at all (it aliases; it is here for cost only).
* **old**: agentkit's former hand-written resampler (block average for integer down-sampling,
  linear interpolation otherwise), copied here.
* **soxr one-shot**: `soxr.resample` per chunk (stateless: restarts the filter every chunk).
* **soxr stream**: `soxr.ResampleStream.resample_chunk`, the filter state carried across
  chunks, at the quality named.
* **pyav**: `av.AudioResampler` (libswresample) fed `AudioFrame`s made from numpy, stateful.
* **agentkit.audio.Resampler**: the same through agentkit's bytes-in, bytes-out wrapper.

soxr is not a dependency of agentkit; its rows appear when it is installed.

Quality, from a 2 s signal streamed through each in 20 ms chunks: the level of a 6 kHz tone
after 24 → 8 kHz (above the 4 kHz Nyquist of the output: anything left is aliasing, lower is
better), and the level change of a 1 kHz tone through 24 → 8 → 24 kHz (passband, 0 is best).
Latency: the most audio a stream holds back while fed 20 ms chunks (**held ms**): soxr's
streaming mode works in large blocks and returns nothing for several chunks, then a burst.

Each cost is the median over `--repeat` runs of the per-chunk time of `--number` calls.
Run: `.venv/bin/python bench/resample.py`.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import timeit
from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt

from agentkit.audio import Resampler

try:  # not a dependency of agentkit: `pip install soxr` for its rows
    import soxr
except ImportError:  # pragma: no cover - depends on the environment
    soxr = None

Chunk = npt.NDArray[np.int16]
Convert = Callable[[Chunk], Chunk]


def old_resample(array: Chunk, src_rate: int, dst_rate: int) -> Chunk:
    """agentkit.audio.resample before soxr (block average, else linear interpolation)."""
    if src_rate % dst_rate == 0:
        factor = src_rate // dst_rate
        usable = array.size - array.size % factor
        blocks = array[:usable].astype(np.int32).reshape(-1, factor)
        return np.round(blocks.mean(axis=1)).astype(np.int16)
    n_out = int(array.size * dst_rate // src_rate)
    positions = np.arange(n_out, dtype=np.float64) * (src_rate / dst_rate)
    out = np.interp(positions, np.arange(array.size, dtype=np.float64), array.astype(np.float64))
    return np.round(out).astype(np.int16)


def floor(src: int, dst: int) -> Convert:
    if src > dst:
        step = src // dst
        return lambda x: x[::step]
    repeat = dst // src
    return lambda x: np.repeat(x, repeat)


def old(src: int, dst: int) -> Convert:
    return lambda x: old_resample(x, src, dst)


def soxr_oneshot(src: int, dst: int) -> Convert:
    return lambda x: soxr.resample(x, src, dst, quality="HQ")


def soxr_stream(quality: str) -> Callable[[int, int], Convert]:
    def make(src: int, dst: int) -> Convert:
        stream = soxr.ResampleStream(src, dst, 1, dtype="int16", quality=quality)
        return lambda x: stream.resample_chunk(x)

    return make


def pyav(src: int, dst: int) -> Convert:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=dst)
    pts = [0]

    def convert(x: Chunk) -> Chunk:
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = src
        frame.pts = pts[0]
        pts[0] += x.size
        frames = resampler.resample(frame)
        if not frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)

    return convert


def agentkit(src: int, dst: int) -> Convert:
    resampler = Resampler(src, dst)
    return lambda x: np.frombuffer(resampler.process(x.tobytes()), dtype=np.int16)


RESAMPLERS: dict[str, Callable[[int, int], Convert]] = {
    "floor (numpy slicing)": floor,
    "old (box average / linear)": old,
    "pyav (ndarray frames)": pyav,
    "agentkit.audio.Resampler": agentkit,
}
if soxr is not None:
    RESAMPLERS |= {
        "soxr one-shot HQ": soxr_oneshot,
        "soxr stream HQ": soxr_stream("HQ"),
        "soxr stream MQ": soxr_stream("MQ"),
        "soxr stream LQ": soxr_stream("LQ"),
        "soxr stream QQ": soxr_stream("QQ"),
    }

CONVERSIONS = [(24_000, 8_000), (8_000, 24_000), (24_000, 48_000)]


def tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> Chunk:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dbfs(x: Chunk) -> float:
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    return 20 * math.log10(rms / 32768) if rms > 0 else -math.inf


def streamed(make: Callable[[int, int], Convert], x: Chunk, src: int, dst: int, ms: int) -> Chunk:
    convert = make(src, dst)
    step = src * ms // 1000
    return np.concatenate([convert(x[i : i + step]) for i in range(0, x.size, step)])


def held_back_ms(make: Callable[[int, int], Convert]) -> float:
    """The most audio (ms) the resampler holds back while fed 20 ms chunks, 24 → 8 kHz."""
    convert, held, received, produced = make(24_000, 8_000), 0.0, 0, 0
    for _ in range(50):
        produced += convert(np.zeros(480, dtype=np.int16)).size
        received += 480
        held = max(held, (received / 3 - produced) / 8)
    return held


def quality(make: Callable[[int, int], Convert]) -> tuple[float, float]:
    """(6 kHz alias level in dBFS after 24→8 k, 1 kHz level change in dB through 24→8→24 k)."""
    high = streamed(make, tone(6000, 24_000, 2.0), 24_000, 8_000, 20)
    alias = dbfs(high[800:-800])  # skip the filters' start-up and tail
    low = tone(1000, 24_000, 2.0)
    back = streamed(make, streamed(make, low, 24_000, 8_000, 20), 8_000, 24_000, 20)
    return alias, dbfs(back[4800:-4800]) - dbfs(low[4800:-4800])


def cost(convert: Convert, chunk: Chunk, number: int, repeat: int) -> float:
    """Median microseconds per call."""
    timer = timeit.Timer(lambda: convert(chunk))
    timer.timeit(number // 10 or 1)
    return statistics.median(timer.timeit(number) / number * 1e6 for _ in range(repeat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per run")
    parser.add_argument("--repeat", type=int, default=7, help="runs per figure")
    parser.add_argument("--chunk-ms", type=int, default=100, help="chunk length")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, av {av.__version__}, "
          f"soxr {soxr.__version__ if soxr else '(not installed)'}, "
          f"{args.chunk_ms} ms chunk, median of {args.repeat} x {args.number}")
    header = "".join(f"{f'{s // 1000}k→{d // 1000}k µs':>14}{'/old':>7}" for s, d in CONVERSIONS)
    print(f"{'resampler':<28}{header}{'6k alias dB':>13}{'1k Δ dB':>9}{'held ms':>9}")
    results: dict[str, list[float]] = {}
    for name, make in RESAMPLERS.items():
        results[name] = [
            cost(make(src, dst), tone(440, src, args.chunk_ms / 1000), args.number, args.repeat)
            for src, dst in CONVERSIONS
        ]
    base = results["old (box average / linear)"]
    for name, make in RESAMPLERS.items():
        row = "".join(f"{us:>14.1f}{us / ref:>7.2f}" for us, ref in zip(results[name], base, strict=True))
        alias, delta = quality(make)
        print(f"{name:<28}{row}{alias:>13.1f}{delta:>9.2f}{held_back_ms(make):>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
