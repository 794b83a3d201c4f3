-- The version moves only when the row changes: an UPDATE that writes the same values (a repeated PUT,
-- the demo data's ON DUPLICATE KEY UPDATE) is no change, and leaves no history row. A row moved to
-- another country or city key is, for the cache, a delete of the old location and a create of the new.
CREATE TRIGGER locations_before_update BEFORE UPDATE ON locations FOR EACH ROW
BEGIN
  IF NEW.country <> OLD.country OR NEW.city_key <> OLD.city_key THEN
    SET NEW.version = 1 + GREATEST(OLD.version, COALESCE(
      (SELECT MAX(version) FROM location_changes WHERE country = NEW.country AND city_key = NEW.city_key), 0));
  ELSEIF NEW.active <> OLD.active OR NEW.city <> OLD.city THEN
    SET NEW.version = OLD.version + 1;
  ELSE
    SET NEW.version = OLD.version;
  END IF;
END
