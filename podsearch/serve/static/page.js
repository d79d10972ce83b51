// podsearch page: copy a citation, play at a quote, seek an episode to #t=SECONDS.
// Everything else is plain HTML from the server; the page state lives in the URL.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  const area = document.createElement("textarea");  // older browsers, plain http
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  return Promise.resolve();
}

async function cite(button) {
  const hit = button.closest(".hit");
  const out = hit.querySelector(".cited");
  const style = (document.getElementById("style") || {}).value || "apa";
  const params = new URLSearchParams({ id: button.dataset.id, style: style });
  try {
    const response = await fetch("/api/cite?" + params);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    const text = body[0].reference || body[0].in_text;
    out.textContent = text;
    out.hidden = false;
    await copyText(text);
    button.textContent = "Copied";
  } catch (e) {
    out.textContent = "Could not cite: " + e.message;
    out.hidden = false;
  }
}

function seekAndPlay(audio, start, play) {
  const go = () => {
    audio.currentTime = start;
    if (play) audio.play().catch(() => {});
  };
  if (audio.readyState >= 1) go();
  else audio.addEventListener("loadedmetadata", go, { once: true });
}

function play(button) {
  const audio = button.closest(".hit").querySelector("audio.player");
  if (!audio.getAttribute("src")) {
    audio.src = button.dataset.src;
    audio.preload = "metadata";
  }
  audio.hidden = false;
  seekAndPlay(audio, parseFloat(button.dataset.start), true);
}

function seekToHash() {
  const m = location.hash.match(/^#t=(\d+(?:\.\d+)?)$/);
  if (!m) return;
  const t = parseFloat(m[1]);
  let best = null;
  for (const turn of document.querySelectorAll("#transcript .turn[data-start]")) {
    if (parseFloat(turn.dataset.start) <= t + 0.5) best = turn;
  }
  document.querySelectorAll(".turn.current").forEach((el) => el.classList.remove("current"));
  if (best) {
    best.classList.add("current");
    best.scrollIntoView({ block: "center" });
  }
  const audio = document.getElementById("episode-audio");
  if (audio) seekAndPlay(audio, t, false);
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.classList.contains("cite")) cite(button);
  else if (button.classList.contains("play")) play(button);
});

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("search");
  if (form) {
    // Empty fields stay out of the URL, so that a shared link holds only what was chosen.
    form.addEventListener("submit", () => {
      for (const field of form.elements) {
        if (field.name && !field.value) field.disabled = true;
      }
    });
    const style = document.getElementById("style");
    style.addEventListener("change", () => {
      const url = new URL(location.href);
      url.searchParams.set("cite", style.value);
      history.replaceState(null, "", url);
    });
  }
  if (document.getElementById("transcript")) {
    seekToHash();
    window.addEventListener("hashchange", seekToHash);
  }
});
