// Starts Swagger UI on clerk-sync's /docs page. A file of its own rather than an inline
// script, so that the page's Content-Security-Policy can forbid inline scripts.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Never send the document to swagger.io's online validator.
    validatorUrl: null,
  });
})();
