"""Start the what-if page on a local web server (Streamlit's), bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from pathlib import Path

#: The page script Streamlit runs.
PAGE = Path(__file__).resolve().parent / "page.py"
#: Where the app listens unless ``--host`` says otherwise: this computer only.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def streamlit_options(host: str, port: int) -> dict[str, object]:
    """Streamlit's settings for the app: local, quiet, no usage statistics, no file watching, no dev tools.

    Streamlit would otherwise bind every interface, send usage statistics,
    watch the page's folder for changes and offer a developer menu.
    """
    return {
        "server.address": host,
        "server.port": port,
        "server.headless": True,  # no browser opened, no e-mail prompt
        "server.fileWatcherType": "none",
        "server.runOnSave": False,
        "browser.gatherUsageStats": False,
        "browser.serverAddress": host,
        "global.developmentMode": False,
        "client.toolbarMode": "viewer",
        "client.showErrorDetails": "none",  # an unexpected error shows a line, never a traceback
    }


def page_arguments(instance: Path, models: list[Path], language: str | None) -> list[str]:
    """The page's own arguments (see :mod:`allocator.app.page`)."""
    arguments = [str(instance)]
    for model in models:
        arguments += ["--model", str(model)]
    if language is not None:
        arguments += ["--lang", language]
    return arguments


def serve(instance: Path, models: list[Path], host: str, port: int, language: str | None) -> None:
    """Serve the page until interrupted (Ctrl-C)."""
    from streamlit.web import bootstrap

    options = streamlit_options(host, port)
    # `streamlit run` sets the options this way before it runs the server; run() alone ignores them.
    bootstrap.load_config_options(options)
    bootstrap.run(str(PAGE), False, page_arguments(instance, models, language), options)
