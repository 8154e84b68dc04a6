/// The only script: upload progress on the *Send* page, as progressive enhancement (without
/// it, the form posts as usual). Served from this origin; the Send page alone allows it
/// (`script-src 'self'`), every other page has no script at all.
enum SendScript {
    /// The Send page's policy: the default one, plus this script and its upload request.
    static let policy = SecurityHeaders<WebContext>.policy + "; script-src 'self'; connect-src 'self'"

    static let javascript = """
        "use strict";
        (function () {
          var form = document.getElementById("send-form");
          if (!form || !window.FormData || !window.XMLHttpRequest) return;
          form.addEventListener("submit", function (event) {
            event.preventDefault();
            var line = document.getElementById("progress-line");
            var bar = document.getElementById("progress");
            var text = document.getElementById("progress-text");
            var button = form.querySelector("button[type=submit]");
            button.disabled = true;
            line.hidden = false;
            var request = new XMLHttpRequest();
            request.open("POST", form.action);
            request.upload.addEventListener("progress", function (e) {
              if (!e.lengthComputable) return;
              var percent = Math.floor(e.loaded * 100 / e.total);
              bar.value = percent;
              text.textContent = percent + "%";
            });
            request.addEventListener("load", function () {
              // The answer is this site's own page (queued, or the form with the problem).
              document.open();
              document.write(request.responseText);
              document.close();
            });
            request.addEventListener("error", function () {
              button.disabled = false;
              text.textContent = "The upload failed. Check the connection and try again.";
            });
            request.send(new FormData(form));
          });
        })();
        """
}
