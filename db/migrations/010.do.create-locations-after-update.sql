CREATE TRIGGER locations_after_update AFTER UPDATE ON locations FOR EACH ROW
BEGIN
  IF NEW.country <> OLD.country OR NEW.city_key <> OLD.city_key THEN
    CALL record_location_change('delete', OLD.country, OLD.city_key, OLD.city, NULL, OLD.active, NEW.version);
    CALL record_location_change('create', NEW.country, NEW.city_key, NEW.city, NEW.active, NULL, NEW.version);
  ELSEIF NEW.version <> OLD.version THEN
    CALL record_location_change('update', NEW.country, NEW.city_key, NEW.city, NEW.active, OLD.active, NEW.version);
  END IF;
END
