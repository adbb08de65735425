"""Latent Lab: see how autoencoders learn compressed representations.

Run with `streamlit run app.py`. This file only declares the pages; each page is one
function in ui/, and every computation is a call into explorer/.
"""

import streamlit as st

from ui import pages, pictures, presentation, resources


def navigation() -> dict[str, list]:
    """st.Page objects from the one page registry (ui/pages.py)."""
    return {section: [st.Page(info.render, title=info.title, icon=info.icon, url_path=info.url_path or None,
                              default=not info.url_path) for info in infos]
            for section, infos in pages.sections().items()}


# Streamlit draws no focus ring on a page link: a keyboard user tabbing down the menu could not see where they are.
MENU_FOCUS = """<style>[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]:focus-visible {
  outline: 2px solid #1f77b4; outline-offset: 2px; }</style>"""


def navigation_menu(sections: dict[str, list]) -> None:
    """Every page as a link under its section's name, in the sidebar. Streamlit's own sectioned menu puts its
    links' <li>s in <div>s inside its <ul> (invalid lists for a screen reader) and folds the last pages
    behind "View N more"; plain page links are neither."""
    st.html(MENU_FOCUS)  # a style-only st.html takes no space
    for section, entries in sections.items():
        st.sidebar.markdown(f"**{section}**")  # a caption's grey is too faint for the contrast rule
        for entry in entries:
            st.sidebar.page_link(entry, label=entry.title, icon=entry.icon)


def main() -> None:
    st.set_page_config(page_title="Latent Lab", page_icon=":material/explore:", layout="wide")
    sections = navigation()
    page = st.navigation(sections, position="hidden")
    navigation_menu(sections)
    pictures.use_sharp_pixels()  # digits are sent at their own size and enlarged by the browser, pixel-sharp
    presentation.presentation_toggle()  # larger everything for a projector, in the link as ?present=1
    resources.show_checkpoint_problems()  # in the sidebar on every page: which checkpoints are left out, and why
    resources.warm_up_umap()  # once per server: UMAP's numba code compiled/loaded in a background process
    page.run()


# Streamlit runs this file as __main__. A training job's child process (multiprocessing's forkserver) runs it
# again as __mp_main__ to rebuild the parent's main module: there it must draw nothing.
if __name__ == "__main__":
    main()
