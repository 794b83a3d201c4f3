CREATE TRIGGER locations_after_delete AFTER DELETE ON locations FOR EACH ROW
  CALL record_location_change('delete', OLD.country, OLD.city_key, OLD.city, NULL, OLD.active, OLD.version + 1)
