"""``DIR/datasheet.md``: a Datasheet for Datasets (Gebru et al. 2021) with a Hugging Face card header.

The seven sections (motivation, composition, collection process, preprocessing/labelling, uses,
distribution, maintenance) are filled with facts computed from the manifest, the design config,
the face model and the shards (see :mod:`facegen.datasets.facts`), after a YAML front matter
that the Hugging Face Hub reads as a dataset card (license, pretty_name, size_categories,
task_categories, configs with one data_files entry per split). The text never contains the time
of writing, so equal datasets get equal datasheets.

Two entry points: :func:`write_datasheet` for a rendered folder (called at the end of every
``facegen sample`` run) and :func:`datasheet_for_design` for a design that is not rendered yet
(the presets' datasheets in ``datasheets/``), whose counts are the exact expected ones.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import __version__
from ..design import DesignConfig, parse_config
from ..shards.manifest import read_manifest
from .facts import DatasetFacts, counted_factors, facts_from_design, facts_from_shards

__all__ = ["ModelFacts", "model_facts", "render_datasheet", "write_datasheet", "datasheet_for_design",
           "hf_license", "size_category", "AUTO_SHARDS_LIMIT"]

log = logging.getLogger(__name__)
AUTO_SHARDS_LIMIT = 1_000_000  # counts='auto' reads records up to this many samples, else uses the design


@dataclass(frozen=True)
class ModelFacts:
    """What a datasheet says about the face model: identity, provenance and the groups it can express.

    ``genders``/``ethnicities``/``age_range`` are None when the model has no factor model or could
    not be loaded (``note`` then says why). ``has_factors``: True or False when the model was loaded,
    None when it was not (unknown).
    """

    name: str
    version: str
    sha256: str
    provenance: str
    genders: tuple[str, ...] | None
    ethnicities: tuple[str, ...] | None
    age_range: tuple[float, float] | None
    note: str = ""
    has_factors: bool | None = None

    @property
    def factorless(self) -> bool:
        """The model is known to have no factor model (its records carry no gender/ethnicity/age)."""
        return self.has_factors is False


def model_facts(config: dict, recorded: dict | None = None, *, load: bool = True) -> ModelFacts:
    """Facts of the model ``config['model']`` names; ``recorded`` is the manifest's {name, version, sha256}."""
    rec = recorded or {}
    spec = config.get("model", "embedded")
    if load:
        try:
            from ..model import load_model

            m = load_model(spec)
            f = m.factors
            sha = m.sha256()
            note = ""
            if rec.get("sha256") and rec["sha256"] != sha:
                note = (f"the model now at {spec!r} (sha256 {sha[:12]}...) differs from the one the run used "
                        f"(sha256 {rec['sha256'][:12]}...); provenance below is of the current file")
            return ModelFacts(m.name, m.version, rec.get("sha256", sha), m.provenance or "not recorded",
                              tuple(f.genders) if f is not None else None,
                              tuple(f.ethnicities) if f is not None else None,
                              tuple(float(a) for a in f.age_range) if f is not None else None, note,
                              has_factors=f is not None)
        except Exception as e:  # noqa: BLE001 - any failure to load leaves the recorded facts
            note = f"the model {spec!r} could not be loaded here ({type(e).__name__}: {e})"
    else:
        note = "the model was not loaded (--no-model-info)"
    return ModelFacts(rec.get("name", str(spec)), rec.get("version", "?"), rec.get("sha256", "?"),
                      "not available", None, None, None, note)


def hf_license(m: ModelFacts) -> str:
    """Hugging Face licence id for images rendered from ``m``: the model's terms bind its renders."""
    p = m.provenance.lower()
    if "non-commercial" in p or "noncommercial" in p:
        return "other"
    if m.name == "embedded" or " mit " in f" {p.replace('(', ' ').replace(')', ' ').replace(',', ' ')} ":
        return "mit"
    return "unknown"


def size_category(n: int) -> str:
    """The Hub's size bucket of ``n`` examples."""
    for hi, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                      (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")):
        if n < hi:
            return label
    return "1B<n<10B"


def _front_matter(cfg: DesignConfig, facts: DatasetFacts, m: ModelFacts, split_files: dict[str, str]) -> str:
    lic = hf_license(m)
    card = {"license": lic}
    if lic == "other":
        card["license_name"] = "face-model-licence"
        card["license_details"] = f"Images inherit the terms of the face model: {m.provenance}"
    card.update({
        "pretty_name": f"facegen {cfg.name}", "size_categories": [size_category(facts.samples)],
        "task_categories": ["image-classification", "image-feature-extraction"],
        "tags": ["synthetic", "faces", "3d-morphable-model", "webdataset", "facegen"],
        "language": ["en"],
        "configs": [{"config_name": "default", "default": True,
                     "data_files": [{"split": s, "path": p} for s, p in split_files.items()]}],
    })
    return "---\n" + yaml.safe_dump(card, sort_keys=False, width=1000) + "---\n"


def _table(head: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(f"{c:,}" if isinstance(c, int) else str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _split_order(facts: DatasetFacts, cfg: DesignConfig) -> list[str]:
    known = list(cfg.fractions) + ["heldout"]
    return sorted(facts.splits, key=lambda s: (known.index(s) if s in known else len(known), s))


def render_datasheet(cfg: DesignConfig, facts: DatasetFacts, m: ModelFacts, *, manifest: dict | None = None) -> str:
    """The datasheet text (YAML front matter + seven sections) from computed facts."""
    splits = _split_order(facts, cfg)
    total = facts.samples
    software = (manifest or {}).get("software", {})
    gen_version = software.get("facegen", __version__)
    planned = manifest is None
    counted, summarised = counted_factors(cfg)
    n_ids = facts.n_identities()
    what = ("Expected counts, computed exactly from the design (not rendered yet)" if planned else
            "Counts read from every record in the shards" if facts.method == "shards" else
            "Counts computed exactly from the design for the shards listed in the manifest")
    parts = [_front_matter(cfg, facts, m, {s: f"{s}-*.tar" for s in splits}),
             f"\n# Datasheet: facegen `{cfg.name}`\n\n",
             f"{cfg.description or 'A facegen design.'}\n\n",
             f"{what}. Generated by facegen {gen_version} (`facegen datasheet`); format after Gebru et al., "
             "*Datasheets for Datasets*, CACM 64(12), 2021.\n\n"]
    if manifest is not None and not manifest.get("complete", False):
        parts.append(f"**Incomplete run:** {len(manifest['shards'])} of {manifest.get('planned_shards')} planned "
                     "shards are present; the numbers below describe the shards present.\n\n")
    n_present = sum(facts.shards.values())
    if manifest is not None and manifest.get("complete", False) and n_present < len(manifest["shards"]):
        parts.append(f"**Partial copy:** {n_present} of the {len(manifest['shards'])} shards the manifest lists are "
                     "in this folder (e.g. a `facegen download --split` copy); the numbers below describe them.\n\n")
    if manifest is not None and manifest.get("limit"):
        parts.append(f"**Limited run:** only the first {manifest['limit']:,} samples of the design "
                     f"({cfg.n_samples:,}) were rendered.\n\n")

    parts.append("## 1. Motivation\n\n")
    parts.append("- **Purpose.** Controlled face images in which identity, intrinsic factors (age, expression) and "
                 "extrinsic factors (pose, lighting, scale, translation, background) vary independently and are "
                 "known exactly, to measure how vision models use face shape versus face texture and how "
                 "invariant they are to each factor (re-creating the design of Xu et al. 2018, arXiv 1811.07807).\n"
                 "- **Creators.** Rendered with the open-source facegen package; the person or group who ran "
                 "this design is the dataset's creator and should add their name here before release.\n"
                 "- **Funding.** Not recorded by the generator.\n")

    parts.append("\n## 2. Composition\n\n")
    parts.append(f"- **Instances.** {total:,} rendered RGB face images of {n_ids:,} synthetic identities, each with "
                 "a JSON record of every generating parameter (schema `facegen.sample/1`). No instance depicts "
                 "a real person: identities are random draws of a 3D morphable model's coefficients.\n"
                 "- **Images.** " + ", ".join(f"{f.upper()} ({n:,})" for f, n in sorted(facts.image_formats.items()))
                 + "; size " + ", ".join(f"{s} px ({n:,})" for s, n in sorted(facts.image_sizes.items()))
                 + (f"; JPEG quality {cfg.quality}" if cfg.image_format == "jpg" else "")
                 + (f"; extras per sample: {', '.join(cfg.extras)}" if cfg.extras else "") + ".\n"
                 f"- **Splits** (by {cfg.split_by}; fractions {dict(cfg.fractions)}):\n\n")
    parts.append(_table(["split", "images", "identities", "shards"],
                        [[s, facts.splits.get(s, 0), facts.identities.get(s, 0), facts.shards.get(s, 0)]
                         for s in splits]
                        + [["total", total, n_ids, sum(facts.shards.values())]]) + "\n")
    parts.append("\n### Images per factor level\n\n")
    rows = []
    for k in counted:
        for lv, by in facts.levels.get(k, {}).items():
            rows.append([k, lv] + [by.get(s, 0) for s in splits] + [sum(by.values())])
    parts.append(_table(["factor", "level"] + splits + ["total"], rows) + "\n")
    drawn = [k for k in summarised if k in facts.continuous]  # not age without a factor model (null)
    if drawn:
        parts.append("\nFactors drawn from a distribution (per sample; age = 'base' is the identity's own age):\n\n")
        parts.append(_table(["factor", "design", "min", "mean", "max"],
                            [[k, _spec(cfg, k)] + [f"{facts.continuous[k][x]:.4g}" for x in ("min", "mean", "max")]
                             for k in drawn]) + "\n")
    if m.factorless:
        parts.append(f"\n### Demographic coverage\n\nNot applicable: the face model `{m.name}` has no factor "
                     "model, so gender, ethnicity and age change nothing in its faces; records carry `gender`, "
                     "`ethnicity`, `base_age` and `age` as null.\n")
    else:
        parts.append("\n### Demographic coverage\n\nIdentities cycle through the crossed gender x ethnicity cells "
                     "of the design, so the cells are balanced by construction (to within one identity):\n\n")
        parts.append(_table(["gender", "ethnicity", "identities", "images", "share of images"],
                            [[g, e, v["identities"], v["images"], f"{100 * v['images'] / max(total, 1):.1f}%"]
                             for (g, e), v in _demographic_rows(cfg, facts)]) + "\n")
    parts.append("\n- **Labels.** Every record holds the identity index, gender, ethnicity, base age and age"
                 + (" (null: the model has no factor model)" if m.factorless else "") + ", "
                 "expression and intensity, yaw/pitch/roll (degrees), light azimuth/elevation/intensity and "
                 "ambient, background grey level, scale, 2-D translation (px), 68 iBUG landmarks (x, y, visible), "
                 "the shape and texture coefficients, split, seed, model and renderer versions.\n"
                 + ("- **Missing information.** Gender, ethnicity, base age and age are null in every record "
                    "(the model has no factor model); every sample has every other field.\n" if m.factorless else
                    "- **Missing information.** None by construction; every sample has every field.\n")
                 + "- **Confidential or sensitive data.** None: no photographs or personal data of real people. "
                 "Gender and ethnicity are labels of directions in the model's coefficient space, not "
                 "identities of people.\n")
    parts.append(_limitations(cfg, m))

    parts.append("\n## 3. Collection process\n\n")
    model_line = f"`{m.name}` version {m.version}" + (
        f", sha256 `{m.sha256}`" if not planned else " (its sha256 goes into the manifest of each rendered copy)")
    parts.append(f"- **How.** Rendered, not collected: face model {model_line}.\n"
                 f"  - Provenance and licence of the model: {m.provenance}\n"
                 + (f"  - Note: {m.note}\n" if m.note else "")
                 + f"- **Sampling.** {cfg.mode} design: {cfg.n_identities:,} identities x "
                 f"{cfg.samples_per_identity:,} samples each "
                 + (f"(full grid over {', '.join(cfg.grid_factors)}, {cfg.n_cells:,} cells x {cfg.per_identity} "
                    "repeat(s))" if cfg.mode == "factorial" else "(grid factors drawn uniformly per sample)")
                 + f"; identity coefficients truncated at {cfg.truncation:g} s.d."
                 + ("; no gender, ethnicity or age (the model has no factor model).\n" if m.factorless
                    else f"; base age {_spec(cfg, 'base_age')}.\n")
                 + f"- **Seed and determinism.** Global seed {cfg.seed}; every value is a pure function of (seed, "
                 "identity, sample), so any shard can be regenerated byte-identically with `facegen sample "
                 "--config design.yaml --shards A:B` and the manifest's sha256 checked.\n"
                 f"- **Software.** facegen {gen_version}"
                 + "".join(f", {k} {v}" for k, v in software.items() if k not in ("facegen", "renderer"))
                 + f"; renderer backend `{cfg.backend}`{_mesh_note(software, cfg)}, `render.exposure: {cfg.exposure}`"
                 + (" (each image exposed for its face; its factor is the record's `light.exposure`)"
                    if cfg.exposure == "face" else " (one exposure for every image)") + ".\n"
                 "- **Time frame and people involved.** None recorded: the output does not depend on when or by "
                 "whom it was rendered. No crowd workers or data subjects were involved.\n")

    parts.append("\n## 4. Preprocessing, cleaning and labelling\n\n")
    parts.append("- Labels are the generating parameters themselves, exact by construction; no manual labelling, "
                 "cleaning or filtering was done and no sample was dropped.\n"
                 "- Landmarks are the model's landmark vertices projected with the same camera as the image; "
                 "'visible' is a depth test.\n"
                 f"- Images are encoded as {cfg.image_format.upper()}"
                 + (f" (quality {cfg.quality}, lossy)" if cfg.image_format == "jpg" else " (lossless)")
                 + "; the raw render is not kept, but it is reproducible from the record.\n")

    parts.append("\n## 5. Uses\n\n")
    parts.append("- **Intended.** Measuring invariance and shape/texture use of vision models (the `benchmark` "
                 "package); training or probing models where ground-truth factors are needed; teaching and "
                 "controlled experiments on identity, pose and lighting.\n"
                 "- **Out of scope.** Identifying, verifying or tracking real people; inferring the gender, "
                 "ethnicity, age or emotion of real people; claims about the fairness of a system on real "
                 "populations (the groups here are model directions, not people); surveillance; "
                 "generating images meant to pass as photographs of real people.\n"
                 "- **Risks.** Results on synthetic renders may not transfer to photographs (domain gap); "
                 "coarse demographic categories can entrench the categories themselves if used as ground truth "
                 "about people.\n")

    parts.append("\n## 6. Distribution\n\n")
    n_shards = sum(facts.shards.values())
    parts.append(f"- **Format.** {n_shards:,} WebDataset tar shards (`{{split}}-NNNNNN.tar`; per sample: the image, "
                 "`json` record" + "".join(f", `{e}`" for e in _extra_files(cfg)) + "), listed in `manifest.json` "
                 "with sample count, byte size and sha256 of every shard; `croissant.json` gives MLCommons "
                 "Croissant metadata.\n"
                 "- **Access.** `facegen download MANIFEST_URL --out DIR` (verified, resumable) or "
                 "`benchmark.data.load(NAME_OR_URL_OR_DIR, split=...)` (streaming or cached).\n"
                 f"- **Licence.** `{hf_license(m)}` (Hugging Face id). Rendered images inherit the face model's terms: "
                 f"{m.provenance}\n")

    parts.append("\n## 7. Maintenance\n\n")
    parts.append("- **Maintainer.** The facegen project (issue tracker of its repository) for the generator; the "
                 "releaser for a published copy.\n"
                 "- **Integrity.** The release registry pins the sha256 of `manifest.json`, which pins every "
                 "shard; a changed or tampered release is refused by `facegen download`.\n"
                 "- **Updates.** Errata and new versions are published as new registry versions; old versions "
                 "stay reproducible from their design, seed and facegen version.\n")
    return "".join(parts)


def _spec(cfg: DesignConfig, k: str) -> str:
    spec = cfg.base_age if k == "base_age" else cfg.factors[k]
    if spec.values == ("base",):
        return f"identity's base age ({_spec(cfg, 'base_age')})"
    y = spec.to_yaml()
    return f"{next(iter(y))} {list(next(iter(y.values())))}" if isinstance(y, dict) else str(y)


def _demographic_rows(cfg: DesignConfig, facts: DatasetFacts) -> list:
    """Every gender x ethnicity cell of the design (zeros included), then any other cell seen."""
    cells = [(g, e) for g in cfg.genders for e in cfg.ethnicities]
    cells += [c for c in facts.demographics if c not in cells]
    zero = {"identities": 0, "images": 0}
    return [(c, facts.demographics.get(c, zero)) for c in cells]


def _extra_files(cfg: DesignConfig) -> list[str]:
    return [{"mask": "mask.png", "depth": "depth.npy", "coeffs": "coeffs.npy"}[e] for e in cfg.extras]


def _limitations(cfg: DesignConfig, m: ModelFacts) -> str:
    lines = ["\n### Known limitations\n\n",
             "- **Synthetic faces.** Images are renders of a linear 3D morphable model: skin surface only (no hair, "
             "headwear, glasses, jewellery or clothing unless the model has them), Lambertian shading with "
             "directional and ambient light, a uniform grey background. They look like renders, not photographs.\n"]
    if m.factorless:
        lines.append("- **Demographic groups.** None: the model has no factor model, so gender, ethnicity and age "
                     "change nothing in its faces; the identities are its random coefficient draws only.\n")
    elif m.genders is None:
        why = m.note or ("the model has no factor model, so gender and ethnicity are labels without an "
                         "effect on the face")
        lines.append(f"- **Demographic groups.** Not determined: {why}. The design "
                     f"asks for genders {list(cfg.genders)} and ethnicities {list(cfg.ethnicities)}.\n")
    else:
        lo, hi = m.age_range
        unused = [e for e in m.ethnicities if e not in cfg.ethnicities] + [g for g in m.genders if g not in cfg.genders]
        lines.append(f"- **Groups the model can represent.** Genders {list(m.genders)}; ethnicity groups "
                     f"{list(m.ethnicities)}; ages {lo:g} to {hi:g} years. Each is a single linear direction in "
                     "coefficient space (GMF-style), i.e. a group average, not the variation within a group.\n"
                     "- **Groups it cannot represent.** Anyone outside those categories: other or mixed "
                     "ancestries (except as linear blends, which the design does not draw), non-binary gender "
                     f"presentation, children and adults outside {lo:g}-{hi:g} years, facial differences, scars, "
                     "make-up, facial hair.\n")
        if unused:
            lines.append(f"- **Not used by this design.** {unused} (the model has them; the design leaves them out).\n")
    return "".join(lines)


def write_datasheet(directory: str | Path, *, counts: str = "auto", load_model_info: bool = True) -> Path:
    """Write ``DIR/datasheet.md`` and ``DIR/croissant.json`` for a rendered folder; returns the datasheet path.

    ``counts``: 'shards' reads every record, 'design' computes the counts exactly from the design for
    the shards listed, 'auto' reads the shards up to AUTO_SHARDS_LIMIT samples.
    """
    from .croissant import write_croissant

    if counts not in ("auto", "shards", "design"):
        raise ValueError(f"counts={counts!r}; allowed: ['auto', 'shards', 'design']")
    d = Path(directory)
    manifest = read_manifest(d)
    cfg = parse_config(manifest["config"])
    n = sum(s["samples"] for s in manifest["shards"])
    m = model_facts(manifest["config"], manifest.get("model"), load=load_model_info)
    if counts == "shards" or (counts == "auto" and n <= AUTO_SHARDS_LIMIT):
        facts = facts_from_shards(d, manifest)
    else:
        facts = facts_from_design(cfg, limit=manifest.get("limit"), names={s["name"] for s in manifest["shards"]},
                                  labels=not m.factorless)
    path = d / "datasheet.md"
    tmp = path.with_name("datasheet.md.tmp")
    tmp.write_text(render_datasheet(cfg, facts, m, manifest=manifest))
    tmp.replace(path)
    write_croissant(d, manifest, license_id=hf_license(m), model=m)
    log.info("wrote %s and croissant.json (%s counts)", path, facts.method)
    return path


def datasheet_for_design(cfg: DesignConfig, *, load_model_info: bool = True) -> str:
    """The datasheet of a design not rendered yet: exact expected counts of the full run."""
    m = model_facts(cfg.to_dict(), None, load=load_model_info)
    facts = facts_from_design(cfg, labels=not m.factorless)
    return render_datasheet(cfg, facts, m)


def _mesh_note(software: dict, cfg) -> str:
    """The mesh level of detail: what the manifest's renderer entry says was rendered, else the config's setting."""
    r = software.get("renderer")
    if not isinstance(r, dict) or not r.get("triangles"):
        return f", `render.detail: {cfg.detail}`"
    return f", mesh level of detail {r['detail']:g} ({r['triangles']:,} triangles; `render.detail: {cfg.detail}`)"
