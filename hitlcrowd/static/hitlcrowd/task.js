// The worker's task page: hotkeys, the lease countdown and the time spent on the item.
// The page works without this script (buttons submit; the server then measures the time).
(function () {
  "use strict";
  var task = document.getElementById("task");
  if (!task) return;

  var answerForm = document.getElementById("answer-form");
  var skipForm = document.getElementById("skip-form");
  var secondsInput = answerForm.querySelector("input[name=seconds_spent]");
  var labelButtons = Array.prototype.slice.call(answerForm.querySelectorAll("button[name=label]"));

  // Time spent: counted from the first time this lease was shown, so a reload keeps counting.
  var startKey = "hitlcrowd-start-" + task.dataset.assignment;
  var started = Number(sessionStorage.getItem(startKey)) || Date.now();
  sessionStorage.setItem(startKey, String(started));
  var sent = false;

  // A key (or an old browser) submits through send(); a click submits the form itself. Both
  // pass through the submit listeners below, which record the time and lock the buttons.
  // send() must not be called from inside a submit event: requestSubmit() is ignored while
  // the form is firing one, so a click that went through send() was swallowed (buttons
  // disabled, nothing sent).
  function send(form, button) {
    if (sent) return; // one answer per lease, however fast the keys are pressed
    if (form.requestSubmit) form.requestSubmit(button || undefined);
    else if (button) button.click();
    else { mark(); form.submit(); } // submit() fires no submit event
  }

  function mark() {
    sent = true;
    secondsInput.value = ((Date.now() - started) / 1000).toFixed(2);
    sessionStorage.removeItem(startKey);
    // After this event: a button disabled now would leave the submitter's label out of the
    // form data, which the browser builds once the submit event is done.
    setTimeout(function () {
      labelButtons.concat(Array.prototype.slice.call(skipForm.querySelectorAll("button")))
        .forEach(function (b) { b.disabled = true; });
    }, 0);
  }

  function onSubmit(event) {
    if (sent) { event.preventDefault(); return; } // already on its way
    mark();
  }
  answerForm.addEventListener("submit", onSubmit);
  skipForm.addEventListener("submit", onSubmit);

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) {
      if (event.key === "Escape") target.blur();
      return; // typing a skip reason must not answer the task
    }
    if (event.key === "s" || event.key === "S") {
      event.preventDefault();
      send(skipForm, null);
      return;
    }
    var button = answerForm.querySelector('button[data-key="' + event.key + '"]');
    if (button && !button.disabled) {
      event.preventDefault();
      send(answerForm, button);
    }
  });

  // Back to this page from the next one: the lease shown here is gone, so ask the server.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });

  // Countdown from the server's "seconds left" (not the client's clock, which may be off).
  var lease = document.getElementById("lease");
  var expired = document.getElementById("lease-expired");
  var countdown = lease.querySelector(".countdown");
  var deadline = Date.now() + Number(lease.dataset.secondsLeft) * 1000;

  function format(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function tick() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    countdown.textContent = format(left);
    lease.classList.toggle("low", left <= 60);
    if (left > 0) return;
    clearInterval(timer);
    lease.hidden = true;
    expired.hidden = false;
    labelButtons.forEach(function (b) { b.disabled = true; });
  }

  var timer = setInterval(tick, 1000);
  tick();
})();
