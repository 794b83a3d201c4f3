-- A location created again after a delete continues its versions from the history, so an answer
-- cached before the delete is always older than the new row.
CREATE TRIGGER locations_before_insert BEFORE INSERT ON locations FOR EACH ROW
  SET NEW.version = 1 + COALESCE(
    (SELECT MAX(version) FROM location_changes WHERE country = NEW.country AND city_key = NEW.city_key), 0)
