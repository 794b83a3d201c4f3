-- 007 without its locking read of the history (see 015): the create raises the location's row in
-- location_versions, which locks that key alone, and takes the version it reached. A create that
-- fails (the location exists) is rolled back with its statement, raise included. FOLLOWS 007 so
-- that no insert runs without a version between this migration and 018, which drops 007.
CREATE TRIGGER locations_before_insert_versioned BEFORE INSERT ON locations FOR EACH ROW FOLLOWS locations_before_insert
BEGIN
  INSERT INTO location_versions (country, city_key, version) VALUES (NEW.country, NEW.city_key, 1)
    ON DUPLICATE KEY UPDATE version = version + 1;
  SET NEW.version = (SELECT version FROM location_versions WHERE country = NEW.country AND city_key = NEW.city_key);
END
