import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type Router } from 'express';

/**
 * GET /docs: the gateway's own spec rendered for people (Swagger UI). Every file comes from this
 * gateway — the page, our initializer, and Swagger UI's bundle and styles from the
 * `swagger-ui-dist` npm package — so it renders offline and behind any firewall, and a CSP of
 * 'self' holds it to that. Paths are relative, so it also works under a reverse proxy's prefix.
 */
export function apiReferenceRoutes(): Router {
  const router = express.Router({ strict: true });
  let distDir: string | undefined;
  // Resolved at the first request: a gateway nobody reads the docs of never looks for the package.
  const dist = () => (distDir ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json')));

  router.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY).setHeader('Cache-Control', 'no-cache').type('html').send(PAGE);
  });
  router.get('/docs/', (_req, res) => res.redirect(301, '../docs'));
  router.get('/docs/assets/init.js', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache').type('text/javascript').send(INITIALIZER);
  });
  router.get('/docs/assets/:name', (req, res, next) => {
    const name = req.params.name;
    if (!BUNDLED.has(name)) return next();
    res.sendFile(join(dist(), name), { maxAge: '1d', dotfiles: 'deny' }, (error) => {
      if (error && !res.headersSent) next(error);
    });
  });
  return router;
}

/** The files of swagger-ui-dist the page uses; nothing else of the package is served. */
const BUNDLED = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // Swagger UI sets style attributes from its scripts.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>OpenClaw Gateway API reference</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="api-reference"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/init.js"></script>
</body>
</html>
`;

// validatorUrl: null — Swagger UI would otherwise send the spec to an online validator.
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#api-reference',
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout'
  });
});
`;
