"""Hugging Face Hub sources: ``hf://datasets/OWNER/NAME[@REVISION]/PATH/manifest.json``.

huggingface_hub turns such a location into the Hub's ``resolve`` URL (``hf_hub_url``) on the
configured endpoint (``huggingface_hub.constants.ENDPOINT``, set by ``HF_ENDPOINT``, or the
``endpoint`` argument) and supplies the request headers (user agent, and the token of
``HF_TOKEN`` / ``huggingface-cli login`` when there is one). The bytes then travel through the
same verified, resumable downloader as any https source, so shards on the Hub get the same
size/sha256 checks, Range resume and retries. The token goes only to the endpoint's own scheme,
host and port, and never over plain http unless the endpoint is this machine
(:func:`facegen.datasets.transport.credentials_allowed`): a redirect to another host (the Hub's
CDN), to another port, or from https to http on the same host drops it, and an ``HF_ENDPOINT``
of ``http://`` another machine gets no token at all. The Hub's own cache (``hf_hub_download``)
is not used: shards land in the folder you choose.
"""
from __future__ import annotations

__all__ = ["parse_hf_url", "hf_manifest_url"]


def parse_hf_url(url: str) -> tuple[str, str, str]:
    """``hf://datasets/OWNER/NAME[@REV][/PATH]`` -> (repo_id, revision, path in the repo).

    PATH defaults to ``manifest.json``; a PATH ending in ``/`` gets ``manifest.json`` appended.
    """
    if not url.startswith("hf://datasets/"):
        raise ValueError(f"{url!r}: expected hf://datasets/OWNER/NAME[@REVISION][/PATH] "
                         "(facegen releases are Hub dataset repositories)")
    rest = url[len("hf://datasets/"):]
    parts = rest.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f"{url!r}: expected hf://datasets/OWNER/NAME[@REVISION][/PATH]")
    owner, name = parts[0], parts[1]
    revision = "main"
    if "@" in name:
        name, revision = name.split("@", 1)
        if not revision:
            raise ValueError(f"{url!r}: empty revision after '@'")
    path = "/".join(parts[2:])
    if not path or path.endswith("/"):
        path += "manifest.json"
    if any(p in ("", ".", "..") for p in path.split("/")):
        raise ValueError(f"{url!r}: path {path!r} must not contain empty, '.' or '..' parts")
    return f"{owner}/{name}", revision, path


def hf_manifest_url(url: str, *, endpoint: str | None = None) -> tuple[str, dict[str, str]]:
    """The https ``resolve`` URL of an hf:// location, and the headers to send with it and its shards."""
    try:
        from huggingface_hub import constants, hf_hub_url
        from huggingface_hub.utils import build_hf_headers
    except ImportError:
        raise ValueError(f"{url!r}: hf:// sources need the huggingface_hub package: "
                         "pip install huggingface_hub") from None

    from .. import __version__

    repo_id, revision, path = parse_hf_url(url)
    endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
    resolved = hf_hub_url(repo_id, path, repo_type="dataset", revision=revision)
    default_base = constants.HUGGINGFACE_CO_URL_TEMPLATE.split("/{repo_id}")[0]
    if resolved.startswith(default_base):
        resolved = endpoint + resolved[len(default_base):]
    headers = build_hf_headers(library_name="facegen", library_version=__version__)
    return resolved, {k.title(): v for k, v in headers.items()}
