-- Every change to a row raises its version (the triggers of 007-011 set it; a value written by hand is
-- overwritten). Cached answers carry it, so applying an invalidation record never deletes an answer
-- that is already as fresh as the change the record describes.
-- city_key doubles: a key may be longer than its name ("ß" folds to "ss", "æ" to "ae").
ALTER TABLE locations
  ADD COLUMN version BIGINT UNSIGNED NOT NULL DEFAULT 1
    COMMENT 'raised by every change; continues from the history after a delete and re-create',
  MODIFY city_key VARCHAR(200) NOT NULL COMMENT 'trimmed, lower case, without accents: what lookups compare'
