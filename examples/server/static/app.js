// Progressive enhancement only: every page works without this file.

document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons: <button data-copy="input-id" hidden> next to a read-only input.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const input = document.getElementById(button.dataset.copy);
    if (!input || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(input.value);
        button.textContent = "Copied";
      } catch {
        input.select();
        button.textContent = "Press Ctrl+C to copy";
      }
      setTimeout(() => {
        button.textContent = "Copy";
      }, 2000);
    });
  }
  // CSV import: a file input that fills the textarea.
  for (const input of document.querySelectorAll("input[type=file][data-fill]")) {
    const target = document.getElementById(input.dataset.fill);
    if (!target) continue;
    const wrapper = input.closest(".js-only");
    if (wrapper) wrapper.hidden = false;
    input.addEventListener("change", async () => {
      const file = input.files?.[0];
      if (file) target.value = await file.text();
    });
  }
});
