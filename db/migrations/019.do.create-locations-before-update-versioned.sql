-- 009 without its locking read of the history (see 015). A row moved to another country or city
-- key is a create of the new location, which continues above that location's versions, and a
-- delete of the old one, whose version location_versions keeps. FOLLOWS 009 (dropped by 020):
-- both compute from OLD, so while both exist the outcome is this trigger's.
CREATE TRIGGER locations_before_update_versioned BEFORE UPDATE ON locations FOR EACH ROW FOLLOWS locations_before_update
BEGIN
  IF NEW.country <> OLD.country OR NEW.city_key <> OLD.city_key THEN
    INSERT INTO location_versions (country, city_key, version) VALUES (NEW.country, NEW.city_key, OLD.version + 1)
      ON DUPLICATE KEY UPDATE version = GREATEST(version + 1, OLD.version + 1);
    SET NEW.version = (SELECT version FROM location_versions WHERE country = NEW.country AND city_key = NEW.city_key);
    INSERT INTO location_versions (country, city_key, version) VALUES (OLD.country, OLD.city_key, NEW.version)
      ON DUPLICATE KEY UPDATE version = GREATEST(version, NEW.version);
  ELSEIF NEW.active <> OLD.active OR NEW.city <> OLD.city THEN
    SET NEW.version = OLD.version + 1;
  ELSE
    SET NEW.version = OLD.version;
  END IF;
END
