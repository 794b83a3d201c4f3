CREATE TRIGGER locations_after_insert AFTER INSERT ON locations FOR EACH ROW
  CALL record_location_change('create', NEW.country, NEW.city_key, NEW.city, NEW.active, NULL, NEW.version)
