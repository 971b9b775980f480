"""Any model behind one interface: images (or sample keys) in, logits or embeddings out.

Sources, chosen by :func:`open_model` from the ``--model`` argument:

* ``*.onnx`` — run in onnxruntime (CPU). Its declaration (below) comes from the ONNX metadata
  entry ``benchmark.config`` (JSON) or, failing that, a sidecar ``MODEL.onnx.json``. A graph with
  any tensor whose data lives in an external file (``data_location: EXTERNAL``, anywhere: initializers,
  sparse tensors, node attributes, subgraphs, functions) is refused unless ``allow_code`` (local,
  trusted use): external data lets a graph read any file it names into its weights. The session is
  made from the bytes that were checked.
  Outputs named like hidden layers (``stem``, ``layer1`` ... ``embedding``) are exposed as such.
* a RUN folder of ``benchmark train`` (``config.json`` + ``model.safetensors``): the registered
  architecture is built and the weights are loaded (no code is unpickled); its declaration is
  ``config.json``; its hidden layers are ``config["hidden_layers"]``.
* ``*.pt`` / ``*.ts`` TorchScript, or ``module:callable`` — **executes code**, so only with
  ``allow_code=True`` (``--allow-code``), for local use. TorchScript declares itself in the archive's
  extra file ``config.json`` (``torch.jit.save(m, path, _extra_files={"config.json": ...})``);
  ``callable()`` must return ``(fn, config)`` with ``fn`` mapping a float32 NCHW tensor to a tensor.
* precomputed outputs (:mod:`benchmark.outputs` format: ``keys`` + ``outputs``, ``.npz`` without
  pickles or ``.safetensors``): a file (one probe set) or a folder holding ``NAME.npz`` or
  ``NAME.safetensors`` per probe set (``NAME`` = the probe design's name, e.g. ``probe-morph``;
  ``gallery`` for the canonical gallery). The declaration is ``model.json`` in the folder or
  ``FILE.json`` beside a file.

A **declaration** is JSON with ``output_kind`` (``"logits"`` or ``"embedding"``, default
``"logits"`` when ``classes`` is given), ``classes`` (list: class k is facegen identity
``classes[k]``; a RUN config's key), and, for image models, ``preprocessing`` with ``image_size``,
``mean`` and ``std`` (per RGB channel, on pixel/255): input = ``(pixel / 255 - mean) / std`` as
float32 NCHW. Preprocessing is never guessed: a model without it is refused. Precomputed logits
without ``classes`` use ``0..D-1`` (the class order ``benchmark train`` writes).
"""
from __future__ import annotations

import hashlib
import importlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from facegen._safe_text import safe_text

__all__ = ["Preprocess", "ModelInfo", "ScoreModel", "ModelError", "open_model", "file_sha256", "onnx_external_data",
           "OUTPUT_KINDS"]

log = logging.getLogger(__name__)

OUTPUT_KINDS = ("logits", "embedding")


class ModelError(ValueError):
    """A model cannot be opened or does not declare what scoring needs."""


@dataclass(frozen=True)
class Preprocess:
    """Input normalisation declared by a model: ``x = (pixel / 255 - mean) / std`` per RGB channel,
    float32, NCHW, at ``image_size`` x ``image_size`` pixels."""

    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def from_dict(cls, d, who: str) -> "Preprocess":
        if not isinstance(d, dict):
            raise ModelError(f"{who}: no 'preprocessing' declared; expected {{'image_size': int, 'mean': [r, g, b], "
                             f"'std': [r, g, b]}} (input = (pixel/255 - mean)/std). Preprocessing is never guessed")
        try:
            size = int(d["image_size"])
            mean = tuple(float(x) for x in d["mean"])
            std = tuple(float(x) for x in d["std"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"{who}: preprocessing {d!r} is malformed ({e}); expected image_size, mean[3], std[3]") \
                from None
        if size < 8 or len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ModelError(f"{who}: preprocessing {d!r}: need image_size >= 8, 3 means, 3 positive stds")
        return cls(size, mean, std)  # type: ignore[arg-type]

    def apply(self, images: np.ndarray) -> np.ndarray:
        """uint8 (B, S, S, 3) -> float32 (B, 3, S, S) normalised input."""
        x = images.astype(np.float32) / 255.0
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def to_dict(self) -> dict:
        return {"image_size": self.image_size, "mean": list(self.mean), "std": list(self.std)}


@dataclass(frozen=True)
class ModelInfo:
    """What scoring knows about a model: ``kind`` (onnx, run, torchscript, callable, precomputed),
    ``source``, ``sha256`` (of the weights / file / outputs), ``output_kind`` (logits or embedding),
    ``classes`` (identity of each logit column, or None), ``preprocess`` (None for precomputed
    outputs), ``hidden_layers`` the layer names :meth:`ScoreModel.predict` can return."""

    kind: str
    source: str
    sha256: str
    output_kind: str
    classes: tuple[int, ...] | None
    preprocess: Preprocess | None
    hidden_layers: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "source": self.source, "sha256": self.sha256, "output_kind": self.output_kind,
                "classes": None if self.classes is None else list(self.classes),
                "preprocessing": None if self.preprocess is None else self.preprocess.to_dict(),
                "hidden_layers": list(self.hidden_layers), **self.extra}


class ScoreModel:
    """Base class: ``predict(dataset, keys, images, layers)`` -> ``{"output": (B, D), layer: (B, ...)}``.

    ``images`` is uint8 (B, S, S, 3) at ``info.preprocess.image_size`` (None for precomputed outputs,
    which look rows up by ``dataset`` and ``keys`` instead). Outputs are float64 numpy arrays.
    """

    info: ModelInfo

    @property
    def needs_images(self) -> bool:
        return self.info.preprocess is not None

    def predict(self, dataset: str, keys: list[str], images: np.ndarray | None,
                layers: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        raise NotImplementedError


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _declared(decl: dict, who: str, *, images: bool) -> tuple[str, tuple[int, ...] | None, Preprocess | None]:
    classes = decl.get("classes")
    if classes is not None:
        if not isinstance(classes, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
            raise ModelError(f"{who}: 'classes' must be a list of identity indices, got {classes!r}")
        classes = tuple(classes)
    kind = decl.get("output_kind", "logits" if classes is not None else None)
    if kind not in OUTPUT_KINDS:
        raise ModelError(f"{who}: output_kind {kind!r}; declare one of {list(OUTPUT_KINDS)}")
    pre = Preprocess.from_dict(decl.get("preprocessing"), who) if images else None
    return kind, classes, pre


def _json_declaration(text, who: str) -> dict:
    try:
        decl = json.loads(text)
    except RecursionError:
        raise ModelError(f"{who}: the declaration nests too deep; it is one flat JSON object") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelError(safe_text(f"{who}: the declaration is not valid JSON ({e})")) from None
    if not isinstance(decl, dict):
        raise ModelError(f"{who}: the declaration must be a JSON object with output_kind, classes, preprocessing")
    return decl


def _check_layers(layers, available, who):
    bad = [n for n in layers if n not in available]
    if bad:
        raise ModelError(f"{who}: hidden layers {bad} are not exposed; available: {list(available)}")


# ----------------------------------------------------------------------------------------- ONNX
def onnx_external_data(model) -> list[str]:
    """Names of every TensorProto in an ``onnx.ModelProto`` (loaded without external data) that keeps its
    data in an external file: ``data_location == EXTERNAL`` or any ``external_data`` entry. Walks every
    message of the model iteratively, so initializers, sparse tensors, attributes, subgraphs, functions
    and training info are all covered."""
    from google.protobuf.message import Message
    from onnx import TensorProto

    found, stack = [], [model]
    while stack:
        msg = stack.pop()
        if isinstance(msg, TensorProto) and (msg.data_location == TensorProto.EXTERNAL or len(msg.external_data)):
            found.append(msg.name or "(unnamed)")
        for fd, value in msg.ListFields():
            if fd.type != fd.TYPE_MESSAGE:
                continue
            if isinstance(value, Message):
                stack.append(value)
            else:  # a repeated field (ONNX has no message-valued maps)
                stack.extend(value)
    return list(dict.fromkeys(found))


def _onnx_bytes(path: Path, allow_external: bool) -> bytes:
    """The file's bytes, after checking it parses and (unless ``allow_external``) names no external data."""
    try:
        import onnx
    except ImportError:
        raise ModelError(f"{path}: checking an ONNX graph needs the onnx package (pip install onnx)") from None
    data = path.read_bytes()
    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # protobuf's DecodeError and onnx's own errors share no base class
        raise ModelError(safe_text(f"{path}: not a readable ONNX protobuf ({type(e).__name__}: {e})")) from None
    ext = [] if allow_external else onnx_external_data(model)
    if ext:
        raise ModelError(safe_text(f"{path}: tensor(s) {ext[:5]} keep their data in external files; external data "
                                   f"is refused (a graph could read any file): embed every tensor in the .onnx file "
                                   f"(onnx.save(model, path, save_as_external_data=False))"))
    return data


class OnnxModel(ScoreModel):
    """An ONNX file run by onnxruntime on CPU; the first graph output is the model's output.

    External data is refused unless ``allow_external`` (see the module docstring)."""

    def __init__(self, path: Path, threads: int = 0, *, allow_external: bool = False) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        source = str(path) if allow_external else _onnx_bytes(path, allow_external=False)
        try:
            self.sess = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime's errors name op types and node names from the file
            raise ModelError(safe_text(f"{path}: onnxruntime cannot load it ({type(e).__name__}: {e})")) from None
        meta = self.sess.get_modelmeta().custom_metadata_map
        side = path.with_name(path.name + ".json")
        if "benchmark.config" in meta:
            decl = _json_declaration(meta["benchmark.config"], f"{path}: metadata 'benchmark.config'")
        elif side.is_file():
            decl = _json_declaration(side.read_bytes(), str(side))
        else:
            raise ModelError(f"{path}: declares nothing; add ONNX metadata 'benchmark.config' or a sidecar {side.name} "
                             f"with output_kind, classes and preprocessing (see benchmark.score.adapters)")
        kind, classes, pre = _declared(decl, str(path), images=True)
        self.input = self.sess.get_inputs()[0].name
        self.outputs = [o.name for o in self.sess.get_outputs()]
        hidden = tuple(n for n in self.outputs[1:])
        self.info = ModelInfo("onnx", str(path), file_sha256(path), kind, classes, pre, hidden)

    def predict(self, dataset, keys, images, layers=()):
        _check_layers(layers, self.info.hidden_layers, self.info.source)
        names = [self.outputs[0], *layers]
        res = self.sess.run(names, {self.input: self.info.preprocess.apply(images)})
        out = {"output": np.asarray(res[0], np.float64)}
        out.update({n: np.asarray(r, np.float64) for n, r in zip(layers, res[1:])})
        return out


# ----------------------------------------------------------------------------------- torch models
class TorchModel(ScoreModel):
    """A torch module: a RUN folder's registered architecture, TorchScript, or a callable."""

    def __init__(self, fn: Callable, info: ModelInfo, device: str = "cpu", module=None) -> None:
        self.fn, self.info, self.device, self.module = fn, info, device, module

    def predict(self, dataset, keys, images, layers=()):
        import torch

        _check_layers(layers, self.info.hidden_layers, self.info.source)
        x = torch.from_numpy(self.info.preprocess.apply(images)).to(self.device)
        with torch.inference_mode():
            if layers:
                h = self.module.hidden(x, tuple(dict.fromkeys(("logits", *layers))))
                out = {"output": h["logits"]}
                out.update({n: h[n] for n in layers})
            else:
                out = {"output": self.fn(x)}
        return {k: v.detach().float().cpu().numpy().astype(np.float64) for k, v in out.items()}


def _open_run(path: Path, device: str) -> TorchModel:
    from ..train.run import RunError, load_run_model

    try:
        module, cfg = load_run_model(path)
    except RunError as e:
        raise ModelError(str(e)) from None
    kind, classes, pre = _declared({"output_kind": "logits", **cfg}, str(path), images=True)
    layers = tuple(cfg.get("hidden_layers", ())) if hasattr(module, "hidden") else ()
    info = ModelInfo("run", str(path), file_sha256(path / "model.safetensors"), kind, classes, pre, layers,
                     extra={"architecture": cfg.get("architecture"), "data": (cfg.get("data") or {}).get("name")})
    module = module.to(device).eval()
    return TorchModel(module, info, device, module)


def _open_torchscript(path: Path, device: str) -> TorchModel:
    import torch

    extra = {"config.json": ""}
    module = torch.jit.load(str(path), map_location=device, _extra_files=extra).eval()
    if not extra["config.json"]:
        raise ModelError(f"{path}: the TorchScript archive has no extra file config.json; save it with "
                         f"torch.jit.save(m, path, _extra_files={{'config.json': json.dumps(declaration)}})")
    kind, classes, pre = _declared(json.loads(extra["config.json"]), str(path), images=True)
    return TorchModel(module, ModelInfo("torchscript", str(path), file_sha256(path), kind, classes, pre), device)


def _open_callable(spec: str, device: str) -> TorchModel:
    mod, _, name = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as e:
        raise ModelError(f"--model {spec}: cannot import {name!r} from {mod!r} ({e})") from None
    got = obj()
    if not (isinstance(got, tuple) and len(got) == 2 and callable(got[0]) and isinstance(got[1], dict)):
        raise ModelError(f"--model {spec}: {name}() must return (fn, declaration dict), got {type(got).__name__}")
    fn, decl = got
    kind, classes, pre = _declared(decl, spec, images=True)
    layers = tuple(decl.get("hidden_layers", ())) if hasattr(fn, "hidden") else ()
    digest = hashlib.sha256(spec.encode()).hexdigest()
    return TorchModel(fn, ModelInfo("callable", spec, digest, kind, classes, pre, layers), device,
                      fn if layers else None)


# ------------------------------------------------------------------------------------ precomputed
class PrecomputedModel(ScoreModel):
    """Outputs read from files (:mod:`benchmark.outputs` format), looked up by probe set and key."""

    def __init__(self, path: Path) -> None:
        if path.is_dir():
            self.files = {p.stem: p for p in sorted(path.iterdir()) if p.suffix in (".npz", ".safetensors")}
            decl_path = path / "model.json"
            digest = hashlib.sha256("".join(f"{k}:{file_sha256(p)}\n" for k, p in self.files.items()).encode())
            sha = digest.hexdigest()
        else:
            self.files = {None: path}
            decl_path = path.with_name(path.name + ".json")
            sha = file_sha256(path)
        if not self.files:
            raise ModelError(f"{path}: no .npz or .safetensors outputs inside")
        if not decl_path.is_file():
            raise ModelError(f"{path}: no declaration {decl_path.name}; write {{\"output_kind\": \"logits\" or "
                             f"\"embedding\", \"classes\": [identity of each logit column]}} there")
        decl = json.loads(decl_path.read_text())
        kind, classes, _ = _declared(decl, str(decl_path), images=False)
        self.info = ModelInfo("precomputed", str(path), sha, kind, classes, None)
        self._cache: dict = {}

    def _table(self, dataset: str) -> dict[str, np.ndarray]:
        from ..outputs import OutputsError, load_outputs

        if dataset not in self._cache:
            p = self.files.get(dataset, self.files.get(None))
            if p is None:
                raise ModelError(f"{self.info.source}: no outputs for probe set {dataset!r}; expected "
                                 f"{dataset}.npz or {dataset}.safetensors; found {sorted(self.files)}")
            try:
                keys, out = load_outputs(p)
            except OutputsError as e:
                raise ModelError(str(e)) from None
            self._cache[dataset] = dict(zip(keys, out))
        return self._cache[dataset]

    def predict(self, dataset, keys, images, layers=()):
        _check_layers(layers, (), self.info.source)
        table = self._table(dataset)
        missing = [k for k in keys if k not in table]
        if missing:
            raise ModelError(f"{self.info.source}: {len(missing)} keys of probe set {dataset!r} have no outputs, "
                             f"e.g. {missing[0]!r}")
        return {"output": np.stack([table[k] for k in keys])}


def open_model(spec: str, *, allow_code: bool = False, device: str = "cpu", threads: int = 0) -> ScoreModel:
    """Open ``spec`` (see the module docstring for the forms); code runs only with ``allow_code``."""
    p = Path(spec)
    if p.is_dir() and (p / "config.json").is_file():
        return _open_run(p, device)
    if p.is_dir() or p.suffix in (".npz", ".safetensors"):
        if not p.exists():
            raise ModelError(f"--model {spec}: no such file")
        return PrecomputedModel(p)
    if p.suffix == ".onnx":
        if not p.is_file():
            raise ModelError(f"--model {spec}: no such file")
        return OnnxModel(p, threads, allow_external=allow_code)
    code = p.suffix in (".pt", ".ts", ".jit") or (":" in spec and not p.exists())
    if code and not allow_code:
        raise ModelError(f"--model {spec}: TorchScript files and module:callable run code; pass --allow-code to "
                         f"score them locally (never for untrusted submissions)")
    if p.suffix in (".pt", ".ts", ".jit"):
        if not p.is_file():
            raise ModelError(f"--model {spec}: no such file")
        return _open_torchscript(p, device)
    if ":" in spec:
        return _open_callable(spec, device)
    raise ModelError(f"--model {spec}: expected a RUN folder, a .onnx file, precomputed outputs (.npz, "
                     f".safetensors or a folder of them), or with --allow-code a TorchScript file or module:callable")
