/* Mizan: small helpers, no framework. Copy buttons and live progress bars. */
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent.trim();
  navigator.clipboard && navigator.clipboard.writeText(text);
  button.textContent = button.dataset.copied || "✓";
});

/* <div data-progress-url="..."> polls a JSON {percent, done, html} until done. */
function pollProgress(box) {
  fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" } })
    .then((r) => r.json())
    .then((state) => {
      const bar = box.querySelector(".progress > span");
      if (bar) bar.style.width = `${state.percent}%`;
      const text = box.querySelector("[data-progress-text]");
      if (text && state.text) text.textContent = state.text;
      if (state.done) { if (state.reload) window.location.reload(); }
      else setTimeout(() => pollProgress(box), 700);
    })
    .catch(() => setTimeout(() => pollProgress(box), 2000));
}
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-progress-url]").forEach(pollProgress);
});
