"""Start the app: `streamlit run dashboard.py` with the pages/ folder kept out of Streamlit's legacy mode.

Streamlit treats a `pages/` folder next to the entry script as a v1 multipage app until the first
script run calls `st.navigation`; a deep link opened first after a restart (say /focas) would then
run that page alone, without the language switch or login gate. Our navigation is always
`st.navigation` in dashboard.py, so the legacy mode is switched off before the server starts.
"""

from __future__ import annotations

import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli


def main() -> None:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", "dashboard.py", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
