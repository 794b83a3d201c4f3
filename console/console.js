// The operators' console: plain JavaScript against the service's own API, no framework, nothing
// from outside this origin. The token lives in sessionStorage only: never in a URL, a cookie or
// localStorage, and it is forgotten on sign-out.

const TOKEN_KEY = 'nicaventas.token'
const POLL_MS = 1000
// Without the change stream's hello within this time, the page polls instead.
const STREAM_HELLO_MS = 3000
const PAGE_LIMIT = 500
const countryNames = new Intl.DisplayNames(['es'], { type: 'region' })

const $ = id => document.getElementById(id)
const state = { token: null, who: null, country: null, cities: new Map(), pageTags: [], live: null, historyCity: null }

/** Compared like the service compares names: case, accents and spaces do not matter. */
const fold = text => text.normalize('NFKD').replace(/\p{M}/gu, '').trim().replace(/\s+/g, ' ').toLowerCase()
const countryLabel = code => `${countryNames.of(code) ?? code} (${code})`

function say (text) {
  $('message').textContent = text
  $('error').textContent = ''
}

function fail (text) {
  $('error').textContent = text
  $('message').textContent = ''
}

/** An API answer that is not a success, in words an operator can act on. */
class ApiError extends Error {
  constructor (status, body, retryAfter) {
    super(body?.message ?? `HTTP ${status}`)
    this.status = status
    this.serverMessage = body?.message ?? ''
    this.retryAfter = retryAfter
  }
}

/** A request to the service, answered 2xx; anything else, a lost connection included, is an ApiError. */
async function send (method, url, body) {
  const headers = { accept: 'application/json' }
  if (state.token !== null) headers.authorization = `Bearer ${state.token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
  } catch {
    throw new ApiError(0, { message: '' })
  }
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null), response.headers.get('retry-after'))
  return response
}

async function api (method, url, body) {
  const text = await (await send(method, url, body)).text()
  return text === '' ? null : JSON.parse(text)
}

/** What to tell the operator about a failed request; `what` says what was being done. */
function explain (error, what) {
  if (!(error instanceof ApiError)) return `${what}: error inesperado (${error.message}).`
  const wait = error.retryAfter ?? '1'
  switch (error.status) {
    case 0: return `${what}: no se pudo contactar con el servicio. Comprueba la conexión e inténtalo de nuevo.`
    case 400: return `${what}: el servicio rechazó los datos (${error.serverMessage}).`
    case 401: return 'El servicio rechazó el token: puede haber caducado o estar mal copiado. Vuelve a entrar.'
    case 403: return /only read/.test(error.serverMessage)
      ? `${what}: tu token solo permite leer el historial; no puede cambiar ciudades.`
      : `${what}: tu token no permite cambiar ciudades de ${countryLabel(state.country)}.`
    case 404: return /No such cities/.test(error.serverMessage)
      ? `${what}: estas ciudades ya no existen (${error.serverMessage.replace(/^No such cities in \w+: /, '').replace(/; nothing was changed$/, '')}); no se cambió nada.`
      : `${what}: esa ciudad ya no existe (quizá otra persona la eliminó).`
    case 409: return `${what}: esa ciudad ya existe en ${countryLabel(state.country)}.`
    case 429: return `Demasiados tokens rechazados desde esta dirección: espera ${wait} s antes de volver a intentarlo.`
    case 503: return `${what}: MySQL está ocupado, inténtalo de nuevo en ${wait} s. No se aplicó ningún cambio.`
    default: return `${what}: el servicio respondió con un error (${error.status}). ${error.serverMessage}`
  }
}

function handle (error, what) {
  fail(explain(error, what))
  if (error instanceof ApiError && error.status === 401) signOut(false)
}

// ---- Signing in and out ----

function scopeText (who) {
  if (!who.may_write) return 'Solo lectura: puede ver el historial, no cambiar ciudades.'
  if (who.countries === null) return 'Puede cambiar ciudades de todos los países.'
  return `Puede cambiar ciudades de: ${who.countries.map(countryLabel).join(', ')}.`
}

async function signIn (token) {
  state.token = token
  try {
    state.who = await api('GET', '/auth/whoami')
  } catch (error) {
    state.token = null
    handle(error, 'No se pudo entrar')
    return
  }
  sessionStorage.setItem(TOKEN_KEY, token)
  $('token').value = ''
  $('who-name').textContent = `Conectado como ${state.who.operator}`
  $('who-scope').textContent = scopeText(state.who)
  $('who').hidden = false
  $('sign-in').hidden = true
  $('work').hidden = false
  say(`Hola, ${state.who.operator}. Elige un país.`)
  if (state.who.countries?.length === 1) await showCountry(state.who.countries[0])
  else $('country').focus()
}

function signOut (announce = true) {
  sessionStorage.removeItem(TOKEN_KEY)
  stopLive()
  Object.assign(state, { token: null, who: null, country: null, cities: new Map(), pageTags: [] })
  $('who').hidden = true
  $('work').hidden = true
  $('cities-section').hidden = true
  $('history').hidden = true
  $('sign-in').hidden = false
  if (announce) say('Sesión cerrada: el token se ha olvidado.')
  $('token').focus()
}

// ---- Countries and their cities ----

async function loadCountryChoices () {
  const { countries } = await api('GET', '/console/countries')
  const options = countries.map(code => {
    const option = document.createElement('option')
    option.value = countryLabel(code)
    return option
  })
  $('countries').replaceChildren(...options)
  state.countryCodes = countries
}

/** A code, a name in Spanish, or "Nombre (XX)" as the list offers it. */
function countryFrom (text) {
  const wanted = fold(text)
  const codes = state.countryCodes ?? []
  const inParens = /\(([a-z]{2})\)$/.exec(wanted)
  const code = inParens?.[1] ?? wanted
  return codes.find(candidate => candidate.toLowerCase() === code) ??
    codes.find(candidate => fold(countryNames.of(candidate) ?? '') === wanted)
}

const mayWrite = country => state.who?.may_write === true && (state.who.countries === null || state.who.countries.includes(country))

async function fetchAllPages (country) {
  const pages = []
  let cursor = null
  do {
    const query = `country=${country}&limit=${PAGE_LIMIT}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const url = `/active/cities?${query}`
    const response = await send('GET', url)
    const body = await response.json()
    pages.push({ url, etag: response.headers.get('etag'), body })
    cursor = body.next_cursor
  } while (cursor !== null)
  return pages
}

function applyPages (pages) {
  const previous = state.cities
  state.cities = new Map()
  for (const { body } of pages) {
    for (const { city, active } of body.cities) {
      const old = previous.get(city)
      state.cities.set(city, { city, active, pending: old?.pending ?? false })
    }
  }
  state.pageTags = pages.map(({ url, etag }) => ({ url, etag }))
}

function scopeNote (country) {
  return state.who.may_write
    ? `Tu token no puede cambiar ciudades de ${countryLabel(country)}: solo puedes consultarlas.`
    : 'Tu token es de solo lectura: puedes consultar ciudades e historial, no cambiarlos.'
}

/** Opens the country's live updates; its list is read once the change stream has said hello (or once the page polls). */
function showCountry (country) {
  stopLive()
  state.country = country
  state.cities = new Map()
  state.pageTags = []
  say(`Leyendo las ciudades de ${countryLabel(country)}…`)
  startLive(country)
}

/** The country's list on screen for the first time, with what this token may do there. */
function showList (country) {
  $('country').value = countryLabel(country)
  $('cities-title').textContent = `Ciudades de ${countryLabel(country)}`
  $('cities-section').hidden = false
  $('history').hidden = true
  const writable = mayWrite(country)
  $('scope-note').hidden = writable
  $('scope-note').textContent = writable ? '' : scopeNote(country)
  for (const element of document.querySelectorAll('.write')) element.disabled = !writable
  render()
  say(`${state.cities.size} ciudades en ${countryLabel(country)}.`)
}

/**
 * Reads the whole list again; the changes the stream sends meanwhile are held, then applied on
 * top of it in order (one the list already has changes nothing). A later read supersedes this one.
 * Resolves false when the first read failed: the page then has no list to keep live.
 */
async function readList (live, country) {
  const read = ++live.reads
  live.held ??= []
  let pages
  try {
    pages = await fetchAllPages(country)
  } catch (error) {
    if (live.stopped || read !== live.reads) return true
    live.held = null
    handle(error, `No se pudieron leer las ciudades de ${countryLabel(country)}`)
    if (!live.shown) stopLive()
    return live.shown
  }
  if (live.stopped || read !== live.reads) return true
  applyPages(pages)
  for (const change of live.held) applyChange(change)
  live.held = null
  if (live.shown) render()
  else showList(country)
  live.shown = true
  return true
}

function visibleCities () {
  const filter = fold($('filter').value)
  const all = [...state.cities.values()]
  return filter === '' ? all : all.filter(({ city }) => fold(city).includes(filter))
}

function cityRow (entry, writable) {
  const item = document.createElement('li')
  item.dataset.city = entry.city
  const name = document.createElement('span')
  name.className = 'city-name'
  name.textContent = entry.city
  const toggle = document.createElement('button')
  toggle.type = 'button'
  toggle.setAttribute('role', 'switch')
  toggle.setAttribute('aria-checked', String(entry.active))
  toggle.setAttribute('aria-label', `Ventas en ${entry.city}`)
  toggle.textContent = entry.pending ? 'Guardando…' : (entry.active ? 'Activas' : 'Inactivas')
  // Pending stays focusable (aria-disabled, not disabled): a disabled button would drop the keyboard's focus.
  if (entry.pending) toggle.setAttribute('aria-busy', 'true')
  if (entry.pending) toggle.setAttribute('aria-disabled', 'true')
  toggle.disabled = !writable
  toggle.addEventListener('click', () => { switchCity(entry.city) })
  const history = document.createElement('button')
  history.type = 'button'
  history.textContent = 'Historial'
  history.setAttribute('aria-label', `Historial de ${entry.city}`)
  history.addEventListener('click', () => { showHistory(entry.city) })
  const remove = document.createElement('button')
  remove.type = 'button'
  remove.className = 'danger'
  remove.textContent = 'Eliminar'
  remove.setAttribute('aria-label', `Eliminar ${entry.city}`)
  remove.disabled = !writable
  remove.addEventListener('click', () => { removeCity(entry.city) })
  item.append(name, toggle, history, remove)
  return item
}

/** Draws the list again, keeping the keyboard focus on the same control of the same city. */
function render () {
  const focused = document.activeElement
  const focusedCity = focused?.closest?.('li')?.dataset.city
  const focusedRole = focused?.getAttribute?.('role') ?? focused?.textContent
  const writable = mayWrite(state.country)
  const shown = visibleCities()
  $('cities').replaceChildren(...shown.map(entry => cityRow(entry, writable)))
  const filtered = $('filter').value.trim() !== ''
  $('count').textContent = filtered ? `${shown.length} de ${state.cities.size} ciudades coinciden con el filtro.` : `${state.cities.size} ciudades.`
  $('bulk-on').textContent = filtered ? `Activar ventas en las ${shown.length} filtradas` : 'Activar ventas en todo el país'
  $('bulk-off').textContent = filtered ? `Desactivar ventas en las ${shown.length} filtradas` : 'Desactivar ventas en todo el país'
  if (focusedCity !== undefined) {
    const row = [...$('cities').children].find(item => item.dataset.city === focusedCity)
    const again = [...(row?.querySelectorAll('button') ?? [])].find(button => (button.getAttribute('role') ?? button.textContent) === focusedRole)
    again?.focus()
  }
}

// ---- Writes ----

async function switchCity (city) {
  const entry = state.cities.get(city)
  if (entry === undefined || entry.pending) return
  const wanted = !entry.active
  entry.pending = true
  render()
  say(`Guardando ${city}…`)
  try {
    const { update } = await api('PUT', '/active', { country: state.country, city, active: wanted })
    entry.active = update.active
    say(`${city}: ventas ${update.active ? 'activadas' : 'desactivadas'}.`)
  } catch (error) {
    handle(error, `No se pudo cambiar ${city}`)
  } finally {
    entry.pending = false
    render()
  }
}

/** Asks in the page's own dialog; resolves true when the operator confirms. */
function confirmAction (text, yes) {
  const dialog = $('confirm')
  $('confirm-text').textContent = text
  $('confirm-yes').textContent = yes
  dialog.returnValue = ''
  dialog.showModal()
  $('confirm-yes').focus()
  return new Promise(resolve => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true }))
}

async function removeCity (city) {
  if (!await confirmAction(`¿Eliminar ${city} de ${countryLabel(state.country)}? Su historial se conserva.`, 'Eliminar')) return
  try {
    await api('DELETE', `/active?country=${state.country}&city=${encodeURIComponent(city)}`)
    state.cities.delete(city)
    render()
    say(`${city} eliminada.`)
  } catch (error) {
    handle(error, `No se pudo eliminar ${city}`)
  }
}

async function addCity () {
  const city = $('new-city').value.trim()
  const active = $('new-active').checked
  try {
    const { Insert } = await api('POST', '/active', { country: state.country, city, active })
    state.cities.set(Insert.city, { city: Insert.city, active: Insert.active, pending: false })
    state.cities = new Map([...state.cities].sort(([a], [b]) => fold(a).localeCompare(fold(b))))
    $('new-city').value = ''
    render()
    say(`${Insert.city} añadida con ventas ${Insert.active ? 'activas' : 'inactivas'}.`)
  } catch (error) {
    handle(error, `No se pudo añadir ${city}`)
  }
}

async function bulk (active) {
  const filtered = $('filter').value.trim() !== ''
  const targets = filtered ? visibleCities() : [...state.cities.values()]
  const changing = targets.filter(entry => entry.active !== active).length
  const verb = active ? 'activar' : 'desactivar'
  const where = filtered ? `las ${targets.length} ciudades filtradas de ${countryLabel(state.country)}` : `todo ${countryLabel(state.country)}`
  if (changing === 0) {
    say(`No hay nada que ${verb}: las ${targets.length} ciudades ya están así.`)
    return
  }
  if (!await confirmAction(`¿${verb[0].toUpperCase()}${verb.slice(1)} las ventas en ${where}? Cambiarán ${changing} ciudades.`, `Sí, ${verb} ${changing}`)) return
  const body = { country: state.country, active, ...(filtered && { cities: targets.map(({ city }) => city) }) }
  try {
    const answer = await api('PUT', '/active/cities', body)
    for (const city of answer.cities) {
      const entry = state.cities.get(city)
      if (entry !== undefined) entry.active = active
    }
    render()
    say(`Cambio masivo hecho: ${answer.changed} ciudades ${active ? 'activadas' : 'desactivadas'}.`)
  } catch (error) {
    handle(error, 'No se pudo hacer el cambio masivo')
  }
}

// ---- History ----

const ACTIONS = { create: 'creada', update: 'cambiada', delete: 'eliminada' }
const flagText = flag => flag === null ? '—' : (flag ? 'activas' : 'inactivas')

async function showHistory (city) {
  let history
  try {
    history = await api('GET', `/active/history?country=${state.country}&city=${encodeURIComponent(city)}&limit=50`)
  } catch (error) {
    handle(error, `No se pudo leer el historial de ${city}`)
    return
  }
  state.historyCity = city
  $('history-title').textContent = `Historial de ${history.city} (${state.country})`
  const rows = history.changes.map(change => {
    const row = document.createElement('tr')
    const cells = [
      change.at.replace('T', ' ').replace(/\.\d+Z$/, ''),
      change.operator ?? 'fuera de la API (SQL)',
      `${ACTIONS[change.action]}: ${flagText(change.previous)} → ${flagText(change.active)}`
    ]
    row.append(...cells.map(text => Object.assign(document.createElement('td'), { textContent: text })))
    return row
  })
  if (rows.length === 0) {
    const empty = document.createElement('tr')
    empty.append(Object.assign(document.createElement('td'), { colSpan: 3, textContent: 'Sin cambios registrados.' }))
    rows.push(empty)
  }
  $('history-rows').replaceChildren(...rows)
  $('history').hidden = false
  $('history-close').focus()
}

// ---- Live updates: the change stream if the service has it, otherwise conditional GETs ----

/** A change event on the list in memory; the caller draws it. */
function applyChange (change) {
  if (change.country !== state.country) return
  const entry = state.cities.get(change.city)
  if (change.action === 'delete') state.cities.delete(change.city)
  else if (entry === undefined) state.cities.set(change.city, { city: change.city, active: change.active, pending: false })
  else entry.active = change.active
}

function stopLive () {
  if (state.live === null) return
  state.live.stream?.close()
  clearTimeout(state.live.timer)
  state.live.stopped = true
  state.live = null
}

/** Polls from now on, after reading the list if the stream never let the page read it. */
async function pollInstead (live, country) {
  if ((live.shown || await readList(live, country)) && !live.stopped) poll(live, country)
}

/**
 * Subscribes first, then reads the list at each `hello` (the first, and every one after a
 * reconnect) and at each `reset`: a change made while the list is read comes on the stream, so
 * none falls between the two. Without the stream (no EventSource, no hello in time, a stream
 * closed for good) the page polls.
 */
function startLive (country) {
  const live = { stream: null, timer: null, stopped: false, reads: 0, held: null, shown: false }
  state.live = live
  if (typeof EventSource !== 'function') return pollInstead(live, country)
  const stream = new EventSource(`/active/events?country=${country}`)
  live.stream = stream
  let greeted = false
  const fallBack = () => {
    if (live.stopped || greeted) return
    stream.close()
    live.stream = null
    pollInstead(live, country)
  }
  live.timer = setTimeout(fallBack, STREAM_HELLO_MS)
  stream.addEventListener('hello', () => {
    greeted = true
    clearTimeout(live.timer)
    $('live').textContent = 'En vivo: los cambios llegan por el flujo de cambios del servicio.'
    readList(live, country)
  })
  // The service could not replay what this page missed: only a fresh read is right.
  stream.addEventListener('reset', () => { readList(live, country) })
  stream.addEventListener('change', event => {
    const change = JSON.parse(event.data)
    if (live.held !== null) live.held.push(change)
    else {
      applyChange(change)
      render()
    }
  })
  stream.addEventListener('error', () => {
    if (stream.readyState !== EventSource.CLOSED) {
      // A dropped stream reconnects by itself (with Last-Event-ID); its hello reads the list again.
      if (greeted) $('live').textContent = 'Reconectando con el flujo de cambios…'
      return
    }
    // Closed for good (404, not an event stream, an error status): poll.
    greeted = false
    clearTimeout(live.timer)
    fallBack()
  })
}

/** Asks for each page of the list with If-None-Match every second; reloads the list when one changed. */
function poll (live, country) {
  $('live').textContent = 'En vivo: el flujo de cambios no está disponible; la lista se consulta cada segundo.'
  const tick = async () => {
    if (live.stopped) return
    try {
      let changed = false
      for (const { url, etag } of state.pageTags) {
        const response = await fetch(url, { headers: etag === null ? {} : { 'if-none-match': etag }, cache: 'no-store' })
        if (response.status !== 304) { changed = true; break }
      }
      if (changed && !live.stopped) {
        applyPages(await fetchAllPages(country))
        if (!live.stopped) render()
      }
    } catch {
      // The next tick tries again; the page keeps what it shows.
    }
    if (!live.stopped) live.timer = setTimeout(tick, POLL_MS)
  }
  live.timer = setTimeout(tick, POLL_MS)
}

// ---- Wiring ----

function wire () {
  $('sign-in-form').addEventListener('submit', event => { event.preventDefault(); signIn($('token').value.trim()) })
  $('sign-out').addEventListener('click', () => signOut())
  $('country-form').addEventListener('submit', event => {
    event.preventDefault()
    const country = countryFrom($('country').value)
    if (country === undefined) fail(`No conozco el país «${$('country').value}»: escribe su nombre o su código de dos letras.`)
    else showCountry(country)
  })
  $('filter').addEventListener('input', render)
  $('bulk-on').addEventListener('click', () => bulk(true))
  $('bulk-off').addEventListener('click', () => bulk(false))
  $('add-form').addEventListener('submit', event => { event.preventDefault(); addCity() })
  $('history-close').addEventListener('click', () => { $('history').hidden = true })
}

async function start () {
  wire()
  try {
    await loadCountryChoices()
  } catch (error) {
    handle(error, 'No se pudo leer la lista de países')
  }
  const kept = sessionStorage.getItem(TOKEN_KEY)
  if (kept !== null) await signIn(kept)
  else $('token').focus()
}

start()
