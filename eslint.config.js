import globals from 'globals'
import neostandard from 'neostandard'

// Dependencies point down: app.ts -> routes -> plugins -> services, db, logging, metrics -> config, schemas -> domain,
// and within services: availability/ (the domain's cache, stores and service) -> cache/ (the generic protocol).
// A module below the plugins takes plain settings, never a plugin's types; the domain imports nothing of ours.
const upward = (message, ...folders) => ({
  'no-restricted-imports': ['error', {
    patterns: [{ group: folders.flatMap(folder => [`**/${folder}/**`, `**/${folder}.ts`]), message }]
  }]
})

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**']
  }),
  {
    // The console's page script runs in the browser.
    files: ['console/**'],
    languageOptions: { globals: globals.browser }
  },
  {
    files: ['domain/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../**'], message: 'domain/ is the leaf: it imports nothing of ours outside domain/.' }]
      }]
    }
  },
  {
    files: ['config/**', 'schemas/**'],
    rules: upward('config/ and schemas/ sit below everything but domain/: take what you need as a parameter.',
      'app', 'routes', 'plugins', 'services', 'db', 'logging', 'metrics')
  },
  {
    files: ['services/**', 'db/**', 'logging/**', 'metrics/**'],
    rules: upward('Modules below the plugins take plain settings, never a plugin or a route.', 'app', 'routes', 'plugins')
  },
  {
    // After the services' rule, which it replaces for these files: the same arrows, and the protocol knows no domain.
    files: ['services/cache/**'],
    rules: upward('services/cache/ is the generic cache protocol: it moves opaque values under keys it is given; ' +
      'the domain (services/availability/) says what a key is and how a value is encoded.',
    'app', 'routes', 'plugins', 'schemas', 'domain', 'services/availability')
  },
  {
    files: ['plugins/**'],
    rules: upward('Plugins never import routes: routes register on what plugins decorate.', 'app', 'routes')
  }
]
