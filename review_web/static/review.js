// Conveniences only: every action works without this script.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (all) {
    all.hidden = false;
    all.addEventListener("change", () => {
      document.querySelectorAll("input.select").forEach((box) => { box.checked = all.checked; });
    });
  }
  // A form sent once: its buttons wait for the answer (a worker carries the action out).
  document.querySelectorAll("form[method=post]").forEach((form) => {
    form.addEventListener("submit", () => {
      window.setTimeout(() => {
        form.querySelectorAll("button").forEach((button) => { button.disabled = true; });
      }, 0);
      document.body.classList.add("busy");
    });
  });
});
