// biofeed_gsr_pulse: Grove GSR (skin conductance) + PulseSensor (PPG) sampled at 100 Hz,
// streamed to biofeed over USB serial. See README.md for wiring and the line format;
// the matching device profile is devices/biofeed-arduino.toml.
//
// One line per sample, 115200 baud:   <n>,<gsr>,<pulse>*<HH>\r\n
//   n      sample counter, 0..65535, wraps to 0 (biofeed times samples by it and counts losses)
//   gsr    Grove GSR ADC reading, 0..1023 (biofeed converts it to microsiemens)
//   pulse  PulseSensor ADC reading, 0..1023 (arbitrary units)
//   HH     XOR of every byte before '*', two uppercase hex digits

const uint8_t GSR_PIN = A0;
const uint8_t PULSE_PIN = A1;
const unsigned long PERIOD_US = 10000UL;  // 100 Hz

unsigned long next_us;
uint16_t n = 0;

void setup() {
  Serial.begin(115200);
  next_us = micros();
}

void loop() {
  // Fixed-rate schedule on the microsecond clock (wrap-safe); a late sample never shifts later ones.
  if ((long)(micros() - next_us) < 0) {
    return;
  }
  next_us += PERIOD_US;

  int gsr = analogRead(GSR_PIN);
  int pulse = analogRead(PULSE_PIN);

  char line[24];
  int len = snprintf(line, sizeof line, "%u,%d,%d", (unsigned int)n, gsr, pulse);
  uint8_t check = 0;
  for (int i = 0; i < len; i++) {
    check ^= (uint8_t)line[i];
  }
  snprintf(line + len, sizeof line - len, "*%02X", check);
  Serial.println(line);  // println ends the line with \r\n
  n++;
}
