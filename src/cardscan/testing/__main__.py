"""`python -m cardscan.testing --root tests/fixtures/hub --port 8080`: serve the corpus as a local Hub."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cardscan.testing.hub import HubEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cardscan.testing", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("tests/fixtures/hub"), help="corpus folder")
    parser.add_argument("--port", type=int, default=8080, help="hub port (0: any free port)")
    parser.add_argument("--cdn-port", type=int, default=0, help="cdn port (0: any free port)")
    parser.add_argument("--page-size", type=int, default=50, help="tree entries per page")
    parser.add_argument("--redirect-regular", action="store_true", help="307 regular files to /api/resolve-cache")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = parser.parse_args(argv)
    knobs = {"tree_page_size": args.page_size, "redirect_regular": args.redirect_regular, "latency": args.latency}
    with HubEmulator(args.root, port=args.port, cdn_port=args.cdn_port, **knobs) as emu:
        print(emu.url, flush=True)
        print(f"# cdn: {emu.cdn_url}   try: HF_ENDPOINT={emu.url} cardscan openai-community/gpt2", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
