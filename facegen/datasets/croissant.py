"""``DIR/croissant.json``: MLCommons Croissant 1.0 metadata for a facegen dataset folder.

Describes the distribution (manifest.json and every tar shard, with size and sha256), the files
inside the shards (images, JSON records) as FileSets, and four RecordSets: ``splits`` (the split
names, Croissant's ``cr:Split`` convention), ``images`` (key and image content), ``samples`` (one
typed field per record value, by JSON path, joined to ``images`` on the sample key) and
``sample-records`` (key, identity and sample index from the member's file name, and the whole JSON
record). All but ``samples`` are read by mlcroissant: it applies ``extract.jsonPath`` only to JSON
it reads itself (a FileObject, or a FileSet of local files); members of a FileSet inside an archive
reach a record set only as file name, path and raw bytes, so a jsonPath field there fails
(mlcroissant 1.1.1, ``operation_graph/graph.py`` adds no Read after Extract >> FilterFiles >>
Concatenate; upstream mlcommons/croissant#1010). Hence ``sample-records`` gives what mlcroissant can
read, and ``samples`` says in its description that it cannot. No dates are written, so equal datasets give equal files.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..shards.manifest import write_json_atomic

__all__ = ["CONTEXT", "croissant_metadata", "write_croissant", "RECORD_FIELDS"]

CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"}, "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/", "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract", "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path",
    "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "sc": "https://schema.org/", "separator": "cr:separator", "source": "cr:source",
    "subField": "cr:subField", "transform": "cr:transform", "samplingRate": "cr:samplingRate",
    "equivalentProperty": "cr:equivalentProperty",
}

# record field id -> (JSON path, Croissant data type, description)
RECORD_FIELDS = {
    "identity": ("$.identity", "sc:Integer", "Identity index (the class label for identity recognition)."),
    "sample": ("$.sample", "sc:Integer", "Sample index within the identity."),
    "split": ("$.split", "sc:Text", "Split the sample belongs to."),
    "gender": ("$.gender", "sc:Text", "Gender direction of the face model used for this identity."),
    "ethnicity": ("$.ethnicity", "sc:Text", "Ethnicity direction of the face model used for this identity."),
    "base_age": ("$.base_age", "sc:Float", "The identity's base age, years."),
    "age": ("$.age", "sc:Float", "Rendered age, years."),
    "expression": ("$.expression", "sc:Text", "Expression prototype name."),
    "expression_intensity": ("$.expression_intensity", "sc:Float", "Expression intensity in [0, 1]."),
    "yaw": ("$.pose_deg.yaw", "sc:Float", "Head yaw, degrees."),
    "pitch": ("$.pose_deg.pitch", "sc:Float", "Head pitch, degrees."),
    "roll": ("$.pose_deg.roll", "sc:Float", "Head roll, degrees."),
    "light_azimuth": ("$.light.azimuth_deg", "sc:Float", "Directional light azimuth, degrees."),
    "light_elevation": ("$.light.elevation_deg", "sc:Float", "Directional light elevation, degrees."),
    "light_intensity": ("$.light.intensity", "sc:Float", "Directional light intensity."),
    "ambient": ("$.light.ambient", "sc:Float", "Ambient light level."),
    "exposure": ("$.light.exposure", "sc:Float", "Exposure: the factor the lights were scaled by (1 unless "
                 "render.exposure is 'face')."),
    "background": ("$.background", "sc:Float", "Background grey level in [0, 1]."),
    "scale": ("$.scale", "sc:Float", "Image scale factor."),
    "translation_x": ("$.translation_px[0]", "sc:Float", "Horizontal image translation, pixels."),
    "translation_y": ("$.translation_px[1]", "sc:Float", "Vertical image translation, pixels."),
    "seed": ("$.seed", "sc:Integer", "Global seed of the design."),
}

_DIGITS8 = "[0-9]" * 8  # sample keys end in _{sample:08d}; '*.png' alone would also match '*.mask.png'
_SPDX = {"mit": "https://spdx.org/licenses/MIT.html"}


def croissant_metadata(manifest: dict, *, manifest_sha256: str | None = None, license_id: str = "unknown",
                       model=None, url: str | None = None) -> dict:
    """The Croissant JSON-LD document of a dataset described by ``manifest``."""
    cfg = manifest["config"]
    fmt = cfg["render"]["format"]
    mime = {"png": "image/png", "jpg": "image/jpeg"}[fmt]
    shards = manifest["shards"]
    dist = [{"@type": "cr:FileObject", "@id": "manifest.json", "name": "manifest.json",
             "description": "Shard list with sample counts, sizes and sha256; the full design config.",
             "contentUrl": "manifest.json", "encodingFormat": "application/json",
             **({"sha256": manifest_sha256} if manifest_sha256 else {})}]
    for s in shards:
        dist.append({"@type": "cr:FileObject", "@id": s["name"], "name": s["name"],
                     "description": f"WebDataset shard of split {s['split']}, {s['samples']} samples.",
                     "contentUrl": s["name"], "encodingFormat": "application/x-tar",
                     "contentSize": f"{s['bytes']} B", "sha256": s["sha256"]})
    contained = [{"@id": s["name"]} for s in shards]
    dist.append({"@type": "cr:FileSet", "@id": "image-files", "name": "image-files", "containedIn": contained,
                 "encodingFormat": mime, "includes": f"*_{_DIGITS8}.{fmt}"})
    dist.append({"@type": "cr:FileSet", "@id": "record-files", "name": "record-files", "containedIn": contained,
                 "encodingFormat": "application/json", "includes": f"*_{_DIGITS8}.json"})

    split_names = list(dict.fromkeys(s["split"] for s in shards))
    doc = {
        "@context": CONTEXT, "@type": "sc:Dataset", "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": f"facegen-{manifest.get('name', cfg.get('name', 'dataset'))}",
        "description": cfg.get("description")
        or "Controlled face images rendered by facegen from a 3D morphable model.",
        "license": _SPDX.get(license_id, license_id),
        "url": url or "https://github.com/facegen/facegen",
        "version": str(manifest.get("software", {}).get("facegen", "0")),
        "creator": {"@type": "sc:Organization", "name": "facegen"},
        "keywords": ["synthetic faces", "3D morphable model", "invariance", "WebDataset"],
        "citeAs": "Xu et al. 2018, arXiv:1811.07807 (design); facegen (generator).",
        "isLiveDataset": False,
        "distribution": dist,
        "recordSet": [
            {"@type": "cr:RecordSet", "@id": "splits", "name": "splits", "dataType": "cr:Split",
             "key": {"@id": "splits/name"},
             "field": [{"@type": "cr:Field", "@id": "splits/name", "name": "splits/name", "dataType": "sc:Text"}],
             "data": [{"splits/name": s} for s in split_names]},
            {"@type": "cr:RecordSet", "@id": "images", "name": "images", "key": {"@id": "images/key"},
             "field": [_key_field("images", "image-files", fmt),
                       {"@type": "cr:Field", "@id": "images/image", "name": "images/image",
                        "dataType": "sc:ImageObject",
                        "source": {"fileSet": {"@id": "image-files"}, "extract": {"fileProperty": "content"}}}]},
            _records_record_set(),
            _values_record_set(cfg),
        ],
    }
    if model is not None:
        doc["rai:dataCollection"] = (f"Rendered from face model {model.name} v{model.version} "
                                     f"(sha256 {model.sha256}); provenance: {model.provenance}")
    return doc


def _key_field(rs: str, fileset: str, ext: str) -> dict:
    """``{rs}/key``: the member's file name without its extension, the WebDataset sample key."""
    return {"@type": "cr:Field", "@id": f"{rs}/key", "name": f"{rs}/key", "dataType": "sc:Text",
            "description": "Sample key {identity:06d}_{sample:08d} (file name without extension).",
            "source": {"fileSet": {"@id": fileset}, "extract": {"fileProperty": "filename"},
                       "transform": {"regex": f"^([^.]+)\\.{ext}$"}}}


def _name_field(fid: str, regex: str, desc: str) -> dict:
    """``sample-records/{fid}``, an integer parsed from the record's file name: mlcroissant cannot look
    inside a JSON member of a tar, but the key is built from identity and sample (``plan.sample_key``),
    so these two values are readable from the name alone."""
    return {"@type": "cr:Field", "@id": f"sample-records/{fid}", "name": f"sample-records/{fid}",
            "description": desc, "dataType": "sc:Integer",
            "source": {"fileSet": {"@id": "record-files"}, "extract": {"fileProperty": "filename"},
                       "transform": {"regex": regex}}}


def _record_set(rid: str, description: str, fields: list[dict]) -> dict:
    """A RecordSet ``rid`` keyed by its ``{rid}/key`` field."""
    return {"@type": "cr:RecordSet", "@id": rid, "name": rid, "key": {"@id": f"{rid}/key"},
            "description": description, "field": fields}


def _records_record_set() -> dict:
    """``sample-records``: what mlcroissant can read of a sample record (see the module docstring): the
    key, identity and sample from the file name, and the record itself as raw JSON bytes."""
    return _record_set(
        "sample-records",
        "One sample record (schema facegen.sample/1) per image, as mlcroissant can read it; sample-records/key "
        "equals images/key of its image. sample-records/record is the whole record, JSON bytes (parse with "
        "json.loads): every value (split, factors, pose, light, landmarks, coefficients). The record set "
        "samples gives the values as typed fields.",
        [
            _key_field("sample-records", "record-files", "json"),
            _name_field("identity", "^([0-9]+)_[0-9]{8}\\.json$",
                        "Identity index (the class label for identity recognition), from the sample key; equals "
                        "the record's identity."),
            _name_field("sample", "^[0-9]+_([0-9]{8})\\.json$",
                        "Sample index within the identity, from the sample key; equals the record's sample."),
            {"@type": "cr:Field", "@id": "sample-records/record", "name": "sample-records/record",
             "dataType": "sc:Text",
             "description": "The sample's JSON record (the shard member {key}.json), as bytes.",
             "source": {"fileSet": {"@id": "record-files"}, "extract": {"fileProperty": "content"}}},
        ])


def _values_record_set(cfg: dict) -> dict:
    """``samples``: one typed field per JSON path of the record. Valid Croissant, and the record's
    schema in machine-readable form, but mlcroissant raises on it (module docstring); its description
    says so, rather than leaving a reader to find out."""
    fields = [_key_field("samples", "record-files", "json")]
    for fid, (path, dtype, desc) in RECORD_FIELDS.items():
        if fid == "exposure" and "exposure" not in cfg["render"]:
            continue  # a dataset made before render.exposure (facegen < 0.4): its records have no light.exposure
        f = {"@type": "cr:Field", "@id": f"samples/{fid}", "name": f"samples/{fid}",
             "description": desc, "dataType": dtype,
             "source": {"fileSet": {"@id": "record-files"}, "extract": {"jsonPath": path}}}
        if fid == "split":
            f["dataType"] = ["sc:Text", "cr:Split"]
            f["references"] = {"field": {"@id": "splits/name"}}
        fields.append(f)
    return _record_set(
        "samples",
        "One sample record (schema facegen.sample/1) per image, its values as typed fields by JSON path into "
        "the shard member {key}.json; samples/key equals images/key of its image. Not readable with "
        "mlcroissant (1.1.1): it evaluates extract.jsonPath only on JSON files it reads itself, not on "
        "members of a FileSet inside a tar archive, and raises. Read sample-records/record and parse it as "
        "JSON, or read the shards with any WebDataset reader.",
        fields)


def write_croissant(directory: str | Path, manifest: dict, **kw) -> Path:
    """Write ``DIR/croissant.json`` (see :func:`croissant_metadata`); returns its path."""
    d = Path(directory)
    mp = d / "manifest.json"
    digest = hashlib.sha256(mp.read_bytes()).hexdigest() if mp.is_file() else None
    path = d / "croissant.json"
    write_json_atomic(path, croissant_metadata(manifest, manifest_sha256=digest, **kw))
    return path

