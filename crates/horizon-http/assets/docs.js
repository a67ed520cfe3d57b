// Starts Swagger UI on the API's own OpenAPI document (a file, not an inline script, so the
// Content-Security-Policy can forbid inline scripts).
window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
});
