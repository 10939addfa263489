// The ☰ and "on this page" buttons a reader sees, made to work (pydata-sphinx-theme#2451).
// pydata-sphinx-theme 0.17 renders a second, hidden `.primary-toggle` in its header before
// sphinx-book-theme's visible one, and both themes bind their click handlers to the first
// match of `document.querySelector(".primary-toggle")` only: the visible button does nothing.
// Every other toggle forwards its click to the bound one, whose handlers then do what they
// were written to do (book theme, >= 992 px: hide or show the sidebar; pydata theme, narrow
// screens: open the sidebar as a drawer).
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["primary", "secondary"]) {
    const bound = document.querySelector(`.${kind}-toggle`);
    document.querySelectorAll(`.${kind}-toggle`).forEach((button) => {
      if (button === bound) return;
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    });
  }
});
