-- A delete leaves its version (the one 011 records) in location_versions, so that a create of the
-- same location later continues above it.
CREATE TRIGGER locations_after_delete_version AFTER DELETE ON locations FOR EACH ROW FOLLOWS locations_after_delete
  INSERT INTO location_versions (country, city_key, version) VALUES (OLD.country, OLD.city_key, OLD.version + 1)
    ON DUPLICATE KEY UPDATE version = GREATEST(version, OLD.version + 1)
