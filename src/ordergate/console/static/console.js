// The console's only script: live import progress, and a confirmation before cancelling.
// Pages work without it (a reload shows the latest progress).
"use strict";

function pollProgress(region) {
  const url = region.dataset.poll;
  const tick = async () => {
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    } catch (error) {
      setTimeout(tick, 3000); // the server is restarting or the network blinked: keep trying
      return;
    }
    if (!response.ok) return; // signed out or gone: stop, a reload will say why
    region.innerHTML = await response.text();
    const status = region.querySelector("[data-status]");
    if (status && ["receiving", "queued", "running"].includes(status.dataset.status)) {
      setTimeout(tick, 1000);
    } else {
      delete region.dataset.poll;
    }
  };
  setTimeout(tick, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(pollProgress);
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
