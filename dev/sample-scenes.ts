/** Shot descriptions of the sample stories that tests, the chaos suite and the benchmarks make up. */
export const SAMPLE_SCENES = [
  'a phone resting on a marble table in late-afternoon light',
  'a hand lifts the phone and the screen wakes',
  'a thumb swipes through colourful charts in the app',
  'the camera pulls back to a smiling person in a bright office',
  'a wide closing shot of the office with a faint logo',
  'rain streaks down a window over a night city',
  'a cyclist crosses a bridge at dawn',
] as const;
