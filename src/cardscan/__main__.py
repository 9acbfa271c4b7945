"""`python -m cardscan` runs the CLI."""

from cardscan.cli import run

if __name__ == "__main__":
    run()
