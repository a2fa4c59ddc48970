/* Mizan: small helpers, no framework. Copy buttons, print buttons and live progress bars.
   No inline scripts or style attributes anywhere: the Content-Security-Policy allows neither. */
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent.trim();
  navigator.clipboard && navigator.clipboard.writeText(text);
  button.textContent = button.dataset.copied || "✓";
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
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
  document.querySelectorAll(".progress > span[data-percent]").forEach((bar) => {
    bar.style.width = `${bar.dataset.percent}%`;
  });
  document.querySelectorAll("[data-progress-url]").forEach(pollProgress);
});
