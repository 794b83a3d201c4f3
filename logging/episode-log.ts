/**
 * One line when something starts going wrong and one when it is right again, however many
 * failures come in between: an outage fails every request, and a line for each would bury the log.
 */
export interface EpisodeLog {
  /** Logs `begin` unless an episode is already under way. */
  failed (begin: () => void): void
  /** Logs `end` if an episode was under way, and closes it. */
  recovered (end: () => void): void
}

export function createEpisodeLog (): EpisodeLog {
  let ongoing = false
  return {
    failed (begin) {
      if (ongoing) return
      ongoing = true
      begin()
    },
    recovered (end) {
      if (!ongoing) return
      ongoing = false
      end()
    }
  }
}
