// Progressive enhancement only: every page works without this file.

document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live-status");
  const announce = (text) => {
    if (!live) return;
    live.textContent = "";
    setTimeout(() => {
      live.textContent = text;
    }, 50);
  };

  // After a submit, focus goes to what the server answered: the error summary, a result, a message.
  const target = document.querySelector("[data-autofocus]");
  if (target) {
    target.focus();
    target.scrollIntoView({ block: "center" });
  }

  // Copy buttons: <button data-copy="element-id" hidden> next to a read-only input or a <code>.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = "value" in source ? source.value : source.textContent;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
        announce("Copied");
      } catch {
        if ("select" in source) source.select();
        button.textContent = "Press Ctrl+C to copy";
        announce("Could not copy: press Ctrl+C to copy");
      }
      setTimeout(() => {
        button.textContent = "Copy";
      }, 2000);
    });
  }

  // Transport: only the fields that apply (SMTP host, port and username are hidden for the HTTP API).
  const smtpOnly = document.querySelectorAll("[data-transport=smtp]");
  for (const radio of document.querySelectorAll("input[name=transport]")) {
    radio.addEventListener("change", () => {
      for (const el of smtpOnly) el.hidden = radio.value !== "smtp";
    });
  }

  // CSV import: a file input that fills the textarea.
  for (const input of document.querySelectorAll("input[type=file][data-fill]")) {
    const fill = document.getElementById(input.dataset.fill);
    if (!fill) continue;
    const wrapper = input.closest(".js-only");
    if (wrapper) wrapper.hidden = false;
    input.addEventListener("change", async () => {
      const file = input.files?.[0];
      if (file) fill.value = await file.text();
    });
  }
});
