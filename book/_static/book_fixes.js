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

// A figure wider than a phone's column keeps the width its text is drawn for
// (mgdl_core.pages.book_style) and scrolls sideways inside its own box, not the page: every figure's
// image goes into a `.mgdl-scroll` box (a player's image comes in one) inside a
// `.mgdl-scroll-frame`, whose edges book_fixes.css shades while more of the figure lies beyond
// them (`mgdl-more-left`, `mgdl-more-right`), so that a reader sees that it scrolls.
document.addEventListener("DOMContentLoaded", () => {
  const wrap = (node, className) => {
    const box = document.createElement("div");
    box.className = className;
    node.replaceWith(box);
    box.appendChild(node);
    return box;
  };
  document.querySelectorAll("article figure img").forEach((img) => {
    let node = img;
    while (node.parentElement.tagName === "A" && node.parentElement.childElementCount === 1) {
      node = node.parentElement; // an image that links somewhere scrolls with its link
    }
    const box = node.parentElement.classList.contains("mgdl-scroll") ? node.parentElement
      : wrap(node, "mgdl-scroll");
    if (box.parentElement.classList.contains("mgdl-scroll-frame")) return;
    const frame = wrap(box, "mgdl-scroll-frame");
    const update = () => {
      const more = box.scrollWidth - box.clientWidth;
      frame.classList.toggle("mgdl-more-left", more > 1 && box.scrollLeft > 1);
      frame.classList.toggle("mgdl-more-right", more > 1 && box.scrollLeft < more - 1);
    };
    box.addEventListener("scroll", update, { passive: true });
    if (window.ResizeObserver) {
      const watch = new ResizeObserver(update); // the column's width, and the image once loaded
      watch.observe(box);
      watch.observe(img);
    }
    img.addEventListener("load", update);
    update();
  });
});
