"""Write (or extend) one catalog domain in both languages from a Python dict literal on stdin.

Usage: python scripts/po_write.py DOMAIN < entries.py   where entries.py holds {"key": ("es", "en"), ...}
Existing keys of the domain are kept unless the input redefines them.
"""

import ast
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    domain = sys.argv[1]
    entries = ast.literal_eval(sys.stdin.read())
    for index, lang in enumerate(("es", "en")):
        path = ROOT / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"
        catalog = Catalog(locale=lang, domain=domain)
        if path.exists():
            with path.open("rb") as handle:
                for message in read_po(handle, locale=lang):
                    if message.id:
                        catalog.add(message.id, message.string)
        for key, texts in entries.items():
            catalog.add(key, texts[index])
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=0, omit_header=False, sort_output=True)


if __name__ == "__main__":
    main()
